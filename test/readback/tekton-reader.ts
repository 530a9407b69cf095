/**
 * Read Tekton output (Pipeline YAML, with embedded or separate Tasks) back into the neutral graph.
 *
 * - A pipeline task is a step; a task named `<step>-when` that the step's `when` reads is the
 *   helper that evaluates a condition `when` expressions cannot state: its edges and reads fold
 *   into the step's condition.
 * - "After": `runAfter`, plus every task whose results or status a task reads (Tekton orders
 *   those implicitly). A `finally` task runs after every pipeline task, unless it reads
 *   `$(tasks.<t>.status)`: then it stands for a step waiting on those tasks' outcome, and the
 *   status values it accepts become its start formula (Succeeded → S, Failed → F, None → skipped or omitted).
 * - Reads: `$(params.p)`, `$(tasks.t.results.r)` in the pipeline task's params, `when` and
 *   matrix (not inside the Task, whose `$(params.x)` are the task's own inputs).
 * - Condition: a `when` other than a status guard; `$(tasks.status)` is the workflow status.
 */
import YAML from "yaml";
import type { OutputFile } from "../../backends/backend.js";
import type { Step, WorkflowIR } from "../../src/ir/types.js";
import { allSteps } from "../../src/ir/graph.js";
import { type Formula, type NGraph, type NStep, NameResolver, irStepNames, type OutcomeClass } from "./neutral-graph.js";

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const VAR = /\$\(([^()]*)\)/g;

export function readTekton(files: readonly OutputFile[], ir: WorkflowIR): NGraph {
  const docs = files.flatMap((f) => YAML.parseAllDocuments(f.content).map((d) => d.toJS() as Obj));
  const pipeline = docs.find((d) => d?.kind === "Pipeline");
  if (!pipeline) throw new Error("no Pipeline document");
  const names = new NameResolver(irStepNames(ir));
  const byName = new Map<string, Step>(allSteps(ir).map((s) => [s.name, s]));
  const params: Record<string, string | null> = {};
  for (const p of pipeline.spec.params ?? []) params[p.name] = p.default ?? null;
  const tasks: Obj[] = pipeline.spec.tasks ?? [];
  const fin: Obj[] = pipeline.spec.finally ?? [];
  const stepOf = (task: string): string | undefined => names.tryResolve(task);
  const helperOwner = (task: string): string | undefined => {
    if (stepOf(task) !== undefined) return undefined;
    const m = /^(.*)-when$/.exec(task);
    return m ? stepOf(m[1]!) : undefined;
  };

  /** Neutral keys of the `$(…)` variables in a text; `tasks` collects task names read. */
  const keys = (text: unknown, taskRefs: Set<string>): string[] => {
    if (typeof text !== "string") return [];
    const out: string[] = [];
    for (const m of text.matchAll(VAR)) {
      const v = m[1]!;
      let r: RegExpExecArray | null;
      if ((r = /^params\.([^.[\]]+)$/.exec(v))) out.push(`param:${r[1]}`);
      else if ((r = /^tasks\.([^.]+)\.results\.([^.[\]]+)(\[\*\])?$/.exec(v))) {
        taskRefs.add(r[1]!);
        const owner = stepOf(r[1]!);
        if (owner === undefined) continue; // a helper's result: folded into its owner
        if (r[2] === "result") out.push(`result:${owner}`);
        else out.push(`output:${owner}.${outputName(byName.get(owner), r[2]!)}`);
      } else if (v === "tasks.status") out.push("workflow.status");
      else if (v === "context.pipelineRun.name") out.push("workflow.name");
      else if ((r = /^tasks\.([^.]+)\.status$/.exec(v))) taskRefs.add(r[1]!);
    }
    return out;
  };
  const valuesOfParams = (list: Obj[] | undefined) => (list ?? []).flatMap((p) => (Array.isArray(p.value) ? p.value : [p.value]));

  const steps: Record<string, NStep> = {};
  const helpers = new Map<string, { after: Set<string>; reads: string[] }>();
  const mainTaskNames = tasks.map((t) => t.name as string);

  const readTask = (t: Obj, final: boolean) => {
    const taskRefs = new Set<string>();
    const reads = new Set<string>();
    for (const v of valuesOfParams(t.params)) for (const k of keys(v, taskRefs)) reads.add(k);
    const condReads = new Set<string>();
    let hasCondition = false;
    const status: Formula[] = [];
    for (const w of t.when ?? []) {
      const refs = new Set<string>();
      const ks = keys(w.input, refs);
      for (const v of w.values ?? []) ks.push(...keys(v, refs));
      const st = /^\$\(tasks\.([^.]+)\.status\)$/.exec(w.input ?? "");
      const oc = /^\$\(tasks\.([^.]+)\.results\.couler-outcome\)$/.exec(w.input ?? "");
      if (oc) {
        // An outcome guard (backends/tekton/status-deps.ts): the step runs only when the observed
        // task ran and its outcome is (not) among the values; a task that did not run has no result.
        taskRefs.add(oc[1]!);
        status.push(outcomeAtom(stepOf(oc[1]!) ?? oc[1]!, w.operator, w.values));
        continue;
      }
      if (st) {
        taskRefs.add(st[1]!);
        status.push(statusAtom(stepOf(st[1]!) ?? st[1]!, w.operator, w.values));
        continue;
      }
      for (const r of refs) taskRefs.add(r);
      hasCondition = true;
      for (const k of ks) condReads.add(k);
    }
    for (const v of t.matrix?.params ?? []) for (const x of Array.isArray(v.value) ? v.value : [v.value]) for (const k of keys(x, taskRefs)) reads.add(k);
    const after = new Set<string>([...(t.runAfter ?? []), ...taskRefs]);
    if (final && status.length === 0) for (const n of mainTaskNames) after.add(n);
    return { after, reads, condReads, hasCondition, status };
  };

  for (const [t, final] of [...tasks.map((t) => [t, false] as const), ...fin.map((t) => [t, true] as const)]) {
    const owner = helperOwner(t.name);
    const r = readTask(t, final);
    if (owner !== undefined) {
      helpers.set(owner, { after: r.after, reads: [...r.reads] });
      continue;
    }
    const name = names.resolve(t.name);
    let fanout: string | null = null;
    if (t.matrix) {
      if (t.matrix.include) fanout = `items:${t.matrix.include.length}`;
      else {
        const p = t.matrix.params[0];
        if (Array.isArray(p.value)) fanout = `items:${p.value.length}`;
        else {
          const ks = keys(p.value, new Set());
          fanout = `from:${ks[0] ?? "?"}`;
        }
      }
    }
    steps[name] = {
      scope: "main",
      after: [...r.after].map((a) => t.name === a ? a : a).sort(),
      ...(r.status.length ? { deps: r.status.length === 1 ? r.status[0]! : { kind: "and", of: r.status } } : {}),
      reads: [...r.reads, ...r.condReads].filter(isData).sort(),
      fanout,
      hasCondition: r.hasCondition,
      conditionReads: [...r.condReads].sort(),
    };
  }
  // resolve "after" names (some are helpers: fold their edges into the owner)
  for (const [name, s] of Object.entries(steps)) {
    const h = helpers.get(name);
    const after = new Set<string>();
    const addAfter = (a: string) => {
      const owner = helperOwner(a);
      if (owner === name) return;
      const n = owner ?? names.resolve(a);
      if (n !== name) after.add(n);
    };
    for (const a of s.after) addAfter(a);
    const condReads = new Set(s.conditionReads);
    const reads = new Set(s.reads);
    if (h) {
      for (const a of h.after) addAfter(a);
      for (const k of h.reads) {
        condReads.add(k);
        if (isData(k)) reads.add(k);
      }
    }
    steps[name] = { ...s, after: [...after].sort(), hasCondition: s.hasCondition || !!h, conditionReads: [...condReads].sort(), reads: [...reads].sort() };
  }
  return { params, steps };
}

function isData(k: string): boolean {
  return k.startsWith("param:") || k.startsWith("result:") || k.startsWith("output:");
}

/** The IR output name a Tekton result name stands for (result names are mangled). */
function outputName(s: Step | undefined, result: string): string {
  const outs = s?.outputs ?? [];
  const exact = outs.find((o) => o.name === result);
  if (exact) return exact.name;
  const k = (x: string) => x.toLowerCase().replace(/[^a-z0-9]/g, "");
  const same = outs.filter((o) => k(o.name) === k(result) || k(result).startsWith(k(o.name)));
  return same.length === 1 ? same[0]!.name : result;
}

const TEKTON_STATUS: Record<string, OutcomeClass[]> = { Succeeded: ["S"], Failed: ["F"], None: ["K", "O", "U"] };

function outcomeAtom(step: string, operator: string, values: string[]): Formula {
  const ran: OutcomeClass[] = ["S", "F"];
  const of = (v: string) => (v === "Succeeded" ? "S" : v === "Failed" ? "F" : undefined);
  const listed = values.map(of).filter((c): c is "S" | "F" => c !== undefined);
  const classes = operator === "notin" ? ran.filter((c) => !listed.includes(c as "S" | "F")) : ran.filter((c) => listed.includes(c as "S" | "F"));
  return { kind: "atom", step, classes };
}

function statusAtom(step: string, operator: string, values: string[]): Formula {
  const classes = [...new Set(values.flatMap((v) => TEKTON_STATUS[v] ?? []))].sort() as OutcomeClass[];
  const atom: Formula = { kind: "atom", step, classes };
  return operator === "notin" ? { kind: "not", of: atom } : atom;
}
