/**
 * Read Airflow DAG files back into the neutral graph. The Python is read by Python's own
 * parser (read_airflow.py, `ast`), in one process for a whole batch; this side only interprets
 * the facts it prints.
 *
 * - A task is a step; `<step>__when` (the condition task) and `<step>__items` (the fan-out
 *   task) fold into their step; `couler_*` tasks (the run-state marker) are not steps.
 * - "After": upstream edges (`>>`), with helpers replaced by their own upstream.
 * - Start formula: the trigger rule over the step's upstream, and the helper's trigger rule over
 *   the helper's upstream (a condition task carries the step's dependency):
 *   all_success = all S; none_failed = all S or K; all_done/always = true; one_failed = some F;
 *   one_success = some S; one_done = some S or F; all_failed = all F; all_skipped = all K;
 *   none_skipped = all S or F; none_failed_min_one_success = all S or K and some S.
 * - Reads: Jinja expressions in the task's strings: `ti.xcom_pull(task_ids='t') |
 *   couler_pick('result')` / `couler_pick('outputs', 'o')` (and `couler_fan_in`), `params.p`,
 *   `params['p']`; `run_id` is the workflow name; `dag_run.get_task_instances` the workflow status.
 * - Fan-out: `.expand_kwargs([...])` (items: its rows) or over the `__items` task, whose
 *   `items` argument names the source.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { OutputFile } from "../../backends/backend.js";
import type { WorkflowIR } from "../../src/ir/types.js";
import { repoPath } from "../helpers/paths.js";
import { jinjaParts } from "./jinja-text.js";
import { type Formula, type NGraph, type NStep, NameResolver, irStepNames, type OutcomeClass } from "./neutral-graph.js";
import type { ReadResult } from "./readers.js";

export interface AirflowTask {
  operator: string;
  trigger_rule: string;
  upstream: string[];
  mapped: boolean;
  expand_count: number | null;
  expand_from: string | null;
  strings: string[];
  op_kwargs: Record<string, unknown> | null;
  kube: { cmds: string[]; arguments: string[]; env: Record<string, string> } | null;
}
export type AirflowDag = { params: Record<string, string | null>; tasks: Record<string, AirflowTask> } | { error: string };

/** Run read_airflow.py once over many DAG files. */
export function readAirflowFiles(fileSets: readonly (readonly OutputFile[])[]): AirflowDag[][] {
  const dir = mkdtempSync(join(tmpdir(), "couler-readback-"));
  try {
    const paths: string[][] = fileSets.map((files, i) =>
      files
        .filter((f) => f.path.endsWith(".py"))
        .map((f) => {
          const p = join(dir, String(i), f.path);
          mkdirSync(dirname(p), { recursive: true });
          writeFileSync(p, f.content);
          return p;
        }),
    );
    const all = paths.flat();
    if (all.length === 0) return paths.map(() => []);
    const out = JSON.parse(
      execFileSync("python3", [repoPath("test", "readback", "read_airflow.py"), ...all], { encoding: "utf8", maxBuffer: 1 << 30 }),
    ) as Record<string, AirflowDag>;
    return paths.map((ps) => ps.map((p) => out[p]!));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const S: OutcomeClass[] = ["S"];
const SK: OutcomeClass[] = ["S", "K"];

function ruleFormula(rule: string, parents: readonly string[]): Formula {
  const all = (classes: OutcomeClass[]): Formula => ({ kind: "and", of: parents.map((p) => ({ kind: "atom", step: p, classes })) });
  const some = (classes: OutcomeClass[]): Formula => ({ kind: "or", of: parents.map((p) => ({ kind: "atom", step: p, classes })) });
  if (parents.length === 0) return { kind: "const", value: true };
  switch (rule) {
    case "all_success":
      return all(S);
    case "none_failed":
      return all(SK);
    case "all_done":
    case "always":
      return { kind: "const", value: true };
    case "one_failed":
      return some(["F", "U"]);
    case "one_success":
      return some(S);
    case "one_done":
      return some(["S", "F", "U"]);
    case "all_failed":
      return all(["F", "U"]);
    case "all_skipped":
      return all(["K", "O"]);
    case "none_skipped":
      return all(["S", "F", "U"]);
    case "none_failed_min_one_success":
      return { kind: "and", of: [all(SK), some(S)] };
    default:
      throw new Error(`trigger rule ${rule} not modelled`);
  }
}

export function readAirflowMany(items: readonly { files: readonly OutputFile[]; ir: WorkflowIR }[]): ReadResult[] {
  const dags = readAirflowFiles(items.map((i) => i.files));
  return items.map((item, i) => {
    try {
      const list = dags[i]!;
      if (list.length !== 1) throw new Error(`expected one DAG file, got ${list.length}`);
      const d = list[0]!;
      if ("error" in d) throw new Error(d.error);
      return { graph: graphOfDag(d, item.ir) };
    } catch (e) {
      return { error: e instanceof Error ? e.message : String(e) };
    }
  });
}

function graphOfDag(d: Exclude<AirflowDag, { error: string }>, ir: WorkflowIR): NGraph {
  const names = new NameResolver(irStepNames(ir));
  const kindOf = (tid: string): { step: string; helper?: "when" | "items" | "depends" } | undefined => {
    const direct = names.tryResolve(tid);
    if (direct !== undefined) return { step: direct };
    const m = /^(.*)__(when|items|depends)$/.exec(tid);
    if (m) return { step: names.resolve(m[1]!), helper: m[2] as "when" | "items" | "depends" };
    if (tid.startsWith("couler_")) return undefined;
    throw new Error(`task ${tid} is not a step`);
  };
  // helpers and couler_* tasks (the run-state tasks) are transparent: they stand for their own upstream
  const realParents = (tid: string): string[] =>
    d.tasks[tid]!.upstream.flatMap((u) => {
      const k = kindOf(u);
      if (!k) return realParents(u);
      return k.helper ? realParents(u) : [k.step];
    });

  const refsOf = (texts: readonly string[]): string[] => {
    const out: string[] = [];
    for (const t of texts) {
      let parts: ReturnType<typeof jinjaParts>;
      try {
        parts = jinjaParts(t);
      } catch {
        continue; // not template text Jinja could read (the hostile-string test judges escaping)
      }
      for (const p of parts) {
        if (!("expr" in p)) continue;
        const e = p.expr;
        for (const m of e.matchAll(/xcom_pull\(task_ids='([^']*)'\)\s*\|\s*couler_(?:pick|fan_in)\(([^)]*)\)/g)) {
          const step = names.resolve(m[1]!);
          const args = [...m[2]!.matchAll(/'([^']*)'/g)].map((x) => x[1]!);
          out.push(args[0] === "result" ? `result:${step}` : `output:${step}.${args[1]}`);
        }
        // params outside string literals (a literal may well contain the text "params.x")
        const code = e.replace(/'(?:[^'\\]|\\.)*'/g, (q) => (/^'[^']*'$/.test(q) && /\[\s*$/.test(e.slice(0, e.indexOf(q))) ? q : "''"));
        for (const m of code.matchAll(/\bparams(?:\.([A-Za-z_][A-Za-z0-9_]*)|\['([^']*)'\])/g)) out.push(`param:${m[1] ?? m[2]}`);
        if (/^run_id$/.test(e)) out.push("workflow.name");
        if (/xcom_pull\(task_ids='couler_workflow_status'\)/.test(e)) out.push("workflow.status");
        if (/dag_run\.get_task_instances/.test(e)) out.push("workflow.status");
      }
    }
    return out;
  };
  const itemRefs = (x: unknown, out: string[] = []): string[] => {
    if (Array.isArray(x)) x.forEach((y) => itemRefs(y, out));
    else if (x && typeof x === "object") {
      const o = x as Record<string, unknown>;
      if ("item" in o && Object.keys(o).length === 1) out.push(typeof o.item === "string" ? `item.${o.item}` : typeof o.item === "number" ? `item[${o.item}]` : "item");
      else Object.values(o).forEach((y) => itemRefs(y, out));
    } else if (typeof x === "string") out.push(...refsOf([x]));
    return out;
  };

  const steps: Record<string, NStep> = {};
  for (const [tid, t] of Object.entries(d.tasks)) {
    const k = kindOf(tid);
    if (!k || k.helper) continue;
    const name = k.step;
    // the step's helper chain (`__depends` -> `__when` -> `__items` -> step), nearest first
    const helpers: string[] = [];
    for (let up = t.upstream; ; ) {
      const h = up.filter((u) => kindOf(u)?.helper !== undefined && kindOf(u)!.step === name);
      if (!h.length) break;
      helpers.push(...h);
      up = h.flatMap((x) => d.tasks[x]!.upstream);
    }
    const after = [...new Set(realParents(tid))].filter((p) => p !== name).sort();
    const reads = new Set(refsOf(t.strings));
    const condReads = new Set<string>();
    let hasCondition = false;
    let fanout: string | null = t.expand_count !== null ? `items:${t.expand_count}` : null;
    const direct = t.upstream.filter((u) => !helpers.includes(u));
    const parts: Formula[] = [ruleFormula(t.trigger_rule, direct.map((u) => kindOf(u)?.step).filter((x): x is string => !!x))];
    for (const h of helpers) {
      const ht = d.tasks[h]!;
      const kw = ht.op_kwargs ?? {};
      const helperUp = ht.upstream.filter((u) => !(kindOf(u)?.helper !== undefined && kindOf(u)!.step === name));
      if (kindOf(h)!.helper === "depends") {
        // the gate evaluates the IR's expression over the parents' states (run-state.ts)
        parts.push(dependsFormula(kw.depends, (tid) => names.resolve(tid)));
        continue;
      }
      if (helperUp.length === ht.upstream.length) parts.push(ruleFormula(ht.trigger_rule, realParents(h)));
      if (kindOf(h)!.helper === "when") {
        hasCondition = true;
        for (const r of itemRefs(kw)) condReads.add(r);
      } else {
        const src = refsOf(typeof kw.items === "string" ? [kw.items] : []);
        if (src.length) {
          fanout = `from:${src[0]}`;
          reads.add(src[0]!);
        } else if (Array.isArray(kw.items)) fanout = `items:${kw.items.length}`;
        if (kw.condition !== undefined && kw.condition !== null) {
          hasCondition = true;
          for (const r of itemRefs(kw.condition)) condReads.add(r);
        }
        for (const r of itemRefs(kw.fields ?? {})) reads.add(r);
      }
    }
    for (const r of condReads) reads.add(r);
    steps[name] = {
      scope: "main",
      after,
      deps: { kind: "and", of: parts },
      reads: [...reads].filter((r) => r.startsWith("param:") || r.startsWith("result:") || r.startsWith("output:")).sort(),
      fanout,
      hasCondition,
      conditionReads: [...condReads].sort(),
    };
  }
  // Airflow marks a task whose trigger rule fails `upstream_failed` (U) when the rule waits for
  // success (all_success, none_failed, none_failed_min_one_success) and a parent failed or is
  // itself upstream_failed; otherwise `skipped` (read as omitted)
  const ruleOf = new Map<string, { rule: string; parents: string[] }>();
  for (const [tid, t] of Object.entries(d.tasks)) {
    const k = kindOf(tid);
    if (!k || k.helper) continue;
    const hs = t.upstream.filter((u) => kindOf(u)?.helper !== undefined && kindOf(u)!.step === k.step && kindOf(u)!.helper !== "depends");
    // a condition or fan-out helper carries the dependency: its rule and parents decide
    const carrier = hs.length ? d.tasks[hs[0]!]! : t;
    ruleOf.set(k.step, { rule: carrier.trigger_rule, parents: realParents(hs.length ? hs[0]! : tid) });
  }
  const gated = new Set(Object.keys(d.tasks).filter((tid) => kindOf(tid)?.helper === "depends").map((tid) => kindOf(tid)!.step));
  const omittedAs = (step: string, env: ReadonlyMap<string, OutcomeClass>): OutcomeClass => {
    if (gated.has(step)) return "U";
    const r = ruleOf.get(step);
    if (!r || !["all_success", "none_failed", "none_failed_min_one_success"].includes(r.rule)) return "O";
    return r.parents.some((p) => env.get(p) === "F" || env.get(p) === "U") ? "U" : "O";
  };
  return { params: d.params, steps, omittedAs };
}

const DEP_CLASSES: Record<string, OutcomeClass[]> = {
  ok: ["S", "K"],
  succeeded: ["S"],
  failed: ["F"],
  skipped: ["K"],
  omitted: ["O", "U"],
  anySucceeded: ["S"],
  allFailed: ["F"],
  any: ["S", "F", "K", "O", "U"],
};

/** A `__depends` gate's expression (`{"step", "status"}` / `{"op", "of"}`) as a formula. */
function dependsFormula(x: unknown, step: (tid: string) => string): Formula {
  const o = (x ?? {}) as { op?: string; of?: unknown; step?: string; status?: string };
  if (o.op === "and" || o.op === "or") return { kind: o.op, of: (o.of as unknown[]).map((y) => dependsFormula(y, step)) };
  if (o.op === "not") return { kind: "not", of: dependsFormula(o.of, step) };
  const classes = DEP_CLASSES[o.status ?? ""];
  if (!classes || typeof o.step !== "string") throw new Error(`unreadable dependency ${JSON.stringify(x)}`);
  return { kind: "atom", step: step(o.step), classes };
}
