/**
 * Read GitHub Actions output (`.github/workflows/<name>.yml`) back into the neutral graph.
 *
 * - A job is a step; a job `<step>-collect` (the fan-in collector) folds into its step.
 * - "After": `needs` (collectors stand for their step).
 * - Start formula: the job's `if:` split at its top-level `&&`. Status parts (`always()`,
 *   `!cancelled()`, `!failure()`, and parts reading only `needs.<job>.result` and
 *   `needs.<job>.outputs.couler_failed`) make the start formula, evaluated by GitHub's rules with
 *   S = success, F = failure (or, for a `continue-on-error` job, success with
 *   `couler_failed == 'true'`), K = skipped; an `if:` without a status function means
 *   `success() && (...)`, and job-level status functions look at every ancestor job. A part comparing `needs.*.result` with the workflow-status words
 *   ('Succeeded', 'Failed') is the exit handler's condition on the workflow status; the
 *   `toJSON(fromJSON(x)) != '[]'` part is the empty fan-out guard; any other part is the step's
 *   `when`. A `when` on the current item sits on the run step (`steps[].if`).
 * - Reads: `needs.<job>.outputs.<o>` (`result` is stdout) and `inputs.<p>` in the job's fields.
 */
import YAML from "yaml";
import { FAILED_OUTPUT } from "../../backends/github/ordering.js";
import type { OutputFile } from "../../backends/backend.js";
import type { Step, WorkflowIR } from "../../src/ir/types.js";
import { allSteps } from "../../src/ir/graph.js";
import { type GhExpr, type GhValue, evalGh, ghParts, ghProps, ghTruthy, parseGh } from "./github-expr.js";
import { type Formula, type NGraph, type NStep, NameResolver, irStepNames, type OutcomeClass } from "./neutral-graph.js";

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const RESULT_OF: Record<OutcomeClass, string> = { S: "success", F: "failure", K: "skipped", O: "skipped", U: "skipped" };
const RESULT_WORDS = new Set(["success", "failure", "cancelled", "skipped", "true"]);

export function readGithub(files: readonly OutputFile[], ir: WorkflowIR): NGraph {
  const file = files.find((f) => /^\.github\/workflows\/[^/]+\.ya?ml$/.test(f.path));
  if (!file) throw new Error("no workflow file");
  const doc = YAML.parse(file.content) as Obj;
  const names = new NameResolver(irStepNames(ir));
  const byName = new Map<string, Step>(allSteps(ir).map((s) => [s.name, s]));
  const on: Obj = doc.on ?? {};
  const inputs: Obj = on.workflow_dispatch?.inputs ?? on.workflow_call?.inputs ?? {};
  const params: Record<string, string | null> = {};
  for (const [k, v] of Object.entries(inputs)) params[k] = (v as Obj).default === undefined ? null : String((v as Obj).default);

  const jobs: Obj = doc.jobs ?? {};
  const ownerOf = (id: string): string => {
    const direct = names.tryResolve(id);
    if (direct !== undefined) return direct;
    const m = /^(.*)-collect$/.exec(id);
    if (m && jobs[m[1]!]) return ownerOf(m[1]!);
    throw new Error(`job ${id} is not a step`);
  };

  const keyOfProp = (path: readonly string[], job: string): string | undefined => {
    if (path[0] === "inputs" && path.length === 2) return `param:${path[1]}`;
    if (path[0] === "github" && path[1] === "event" && path[2] === "inputs") return `param:${path[3]}`;
    if (path[0] === "needs" && path[2] === "outputs" && path.length === 4) {
      const step = ownerOf(path[1]!);
      // `<key>_hex`: the same output hex-encoded, for exact (case-sensitive) comparisons
      const key = path[3]!.replace(/_hex_*$/, "");
      if (key !== path[3]) return keyOfProp(["needs", path[1]!, "outputs", key], job);
      if (path[3] === "result" && !(byName.get(step)?.outputs ?? []).some((o) => o.name === "result")) return `result:${step}`;
      return `output:${step}.${outputName(byName.get(step), path[3]!)}`;
    }
    if (path[0] === "matrix") {
      if (path[1] === "item") return path.length > 2 ? `item.${path.slice(2).join(".")}` : "item";
      const m = /^item(\d+)$/.exec(path[1] ?? "");
      if (m) return `item[${m[1]}]`;
    }
    void job;
    return undefined;
  };

  const steps: Record<string, NStep> = {};
  for (const [id, job] of Object.entries(jobs) as [string, Obj][]) {
    if (/-collect$/.test(id) && names.tryResolve(id) === undefined) continue;
    const name = ownerOf(id);
    const needs: string[] = typeof job.needs === "string" ? [job.needs] : (job.needs ?? []);
    const after = [...new Set(needs.map(ownerOf))].filter((n) => n !== name).sort();
    const reads = new Set<string>();
    const scanText = (x: unknown, into: Set<string>) => {
      if (typeof x !== "string") return;
      for (const p of ghParts(x)) if ("expr" in p) for (const pr of ghProps(p.expr)) { const k = keyOfProp(pr, id); if (k) into.add(k); }
    };
    const scanTree = (x: unknown, into: Set<string>) => {
      if (typeof x === "string") scanText(x, into);
      else if (Array.isArray(x)) x.forEach((y) => scanTree(y, into));
      else if (x && typeof x === "object") for (const [k, v] of Object.entries(x)) if (k !== "outputs" && k !== "if" && k !== "needs") scanTree(v, into);
    };
    scanTree(job.steps, reads);
    scanTree(job.env, reads);
    scanTree(job.container, reads);
    // fan-out
    let fanout: string | null = null;
    const matrix = job.strategy?.matrix;
    if (matrix !== undefined) {
      if (typeof matrix === "string") fanout = `from:${fromKey(matrix, id)}`;
      else if (matrix.include) fanout = `items:${matrix.include.length}`;
      else if (Array.isArray(matrix.item)) fanout = `items:${matrix.item.length}`;
      else if (typeof matrix.item === "string") fanout = `from:${fromKey(matrix.item, id)}`;
      if (fanout?.startsWith("from:")) reads.add(fanout.slice(5));
    }
    // if: split into status, condition and guard parts
    let hasCondition = false;
    const condReads = new Set<string>();
    const statusParts: GhExpr[] = [];
    if (job.if !== undefined) {
      const text = String(job.if);
      const parts = ghParts(text.includes("${{") ? text : `\${{ ${text} }}`);
      if (parts.length !== 1 || !("expr" in parts[0]!)) throw new Error(`job ${id}: if is not one expression: ${text}`);
      for (const c of conjuncts(parts[0].expr)) {
        const kind = classify(c);
        if (kind === "status") statusParts.push(c);
        else if (kind === "guard") continue;
        else {
          hasCondition = true;
          if (kind === "workflow-status") condReads.add("workflow.status");
          else for (const pr of ghProps(c)) { const k = keyOfProp(pr, id); if (k) condReads.add(k); }
        }
      }
    }
    // no status function: GitHub's implicit `success() && (...)` (PipelineTemplateConverter.cs ConvertToIfCondition)
    if (!statusParts.some(calls0)) statusParts.push({ kind: "call", name: "success", args: [] });
    for (const st of job.steps ?? []) {
      if (st.if !== undefined && st.id === "run") {
        // the run step's own guard: a condition on the current item (a cache hit reads steps.*, not a condition)
        const parts = ghParts(String(st.if).includes("${{") ? String(st.if) : `\${{ ${st.if} }}`);
        const props = parts.flatMap((p) => ("expr" in p ? ghProps(p.expr) : []));
        if (props.some((pr) => pr[0] !== "steps")) {
          hasCondition = true;
          for (const pr of props) { const k = keyOfProp(pr, id); if (k) condReads.add(k); }
        }
      }
    }
    for (const k of condReads) if (isData(k)) reads.add(k);
    const needIds = needs;
    const ancestorIds: string[] = [];
    const visit = (j: string) => {
      const ns: string[] = typeof jobs[j]?.needs === "string" ? [jobs[j].needs] : (jobs[j]?.needs ?? []);
      for (const n of ns) if (!ancestorIds.includes(n)) (ancestorIds.push(n), visit(n));
    };
    visit(id);
    const deps: Formula = {
      kind: "fn",
      steps: [...new Set(needIds.map(ownerOf))],
      test: (env) => {
        // a job that continue-on-error lets fail reports success, and says so in its couler_failed output
        const cls = (jobId: string) => env.get(ownerOf(jobId)) ?? "S";
        const result = (jobId: string) => (cls(jobId) === "F" && jobs[jobId]?.["continue-on-error"] === true ? "success" : RESULT_OF[cls(jobId)]);
        const ctx = {
          prop: (path: readonly string[]): GhValue => {
            if (path[0] === "needs" && path[2] === "result") return result(path[1]!);
            if (path[0] === "needs" && path[2] === "outputs" && path[3] === FAILED_OUTPUT) return cls(path[1]!) === "F" && jobs[path[1]!]?.["continue-on-error"] === true ? "true" : "";
            throw new Error(`status part reads ${path.join(".")}`);
          },
          status: (fn: string) =>
            // job-level status functions look at every ancestor job (docs, "Status check functions")
            fn === "always" ? true : fn === "cancelled" ? false : fn === "failure" ? ancestorIds.some((n) => result(n) === "failure") : ancestorIds.every((n) => result(n) === "success"),
        };
        return statusParts.every((p) => ghTruthy(evalGh(p, ctx)));
      },
    };
    steps[name] = {
      scope: "main",
      after,
      deps,
      reads: [...reads].filter(isData).sort(),
      fanout,
      hasCondition,
      conditionReads: [...condReads].sort(),
    };
  }

  function fromKey(text: string, job: string): string {
    const parts = ghParts(text);
    const props = parts.flatMap((p) => ("expr" in p ? ghProps(p.expr) : []));
    const ks = props.map((p) => keyOfProp(p, job)).filter((k): k is string => k !== undefined);
    return ks[0] ?? `?${text}`;
  }
  return { params, steps };
}

function isData(k: string): boolean {
  return k.startsWith("param:") || k.startsWith("result:") || k.startsWith("output:");
}

function conjuncts(e: GhExpr): GhExpr[] {
  return e.kind === "bin" && e.op === "&&" ? [...conjuncts(e.left), ...conjuncts(e.right)] : [e];
}

function literals(e: GhExpr, out: unknown[] = []): unknown[] {
  if (e.kind === "lit") out.push(e.value);
  else if (e.kind === "call") e.args.forEach((a) => literals(a, out));
  else if (e.kind === "not") literals(e.of, out);
  else if (e.kind === "bin") {
    literals(e.left, out);
    literals(e.right, out);
  }
  return out;
}

function classify(e: GhExpr): "status" | "guard" | "workflow-status" | "condition" {
  const props = ghProps(e);
  if (e.kind === "bin" && e.op === "!=" && e.right.kind === "lit" && e.right.value === "[]" && e.left.kind === "call" && e.left.name === "toJSON") return "guard";
  // a start rule that can never hold is written as `false` (a condition is always a comparison)
  if (e.kind === "lit" && typeof e.value === "boolean") return "status";
  if (props.length === 0) return calls0(e) ? "status" : "condition";
  const onlyResults = props.every((p) => p[0] === "needs" && ((p[2] === "result" && p.length === 3) || (p[2] === "outputs" && p[3] === FAILED_OUTPUT && p.length === 4)));
  if (!onlyResults) return "condition";
  const words = literals(e).filter((v) => typeof v === "string" && !RESULT_WORDS.has(v));
  if (words.length) return "workflow-status";
  const calls = (x: GhExpr): boolean => (x.kind === "call" ? ["always", "cancelled", "failure", "success"].includes(x.name) : x.kind === "not" ? calls(x.of) : x.kind === "bin" ? calls(x.left) || calls(x.right) : false);
  return props.length || calls(e) ? "status" : "condition";
}

function calls0(x: GhExpr): boolean {
  return x.kind === "call" ? ["always", "cancelled", "failure", "success"].includes(x.name) : x.kind === "not" ? calls0(x.of) : x.kind === "bin" ? calls0(x.left) || calls0(x.right) : false;
}

function outputName(s: Step | undefined, key: string): string {
  const outs = s?.outputs ?? [];
  const exact = outs.find((o) => o.name === key);
  if (exact) return exact.name;
  const k = (x: string) => x.toLowerCase().replace(/[^a-z0-9]/g, "");
  const same = outs.filter((o) => k(o.name) === k(key));
  return same.length === 1 ? same[0]!.name : key;
}

export { parseGh };
