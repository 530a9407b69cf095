/**
 * Dependencies on another step's outcome, on Tekton.
 *
 * Tekton's own rules (tektoncd/pipeline pkg/reconciler/pipelinerun/resources): a failed task
 * stops the run from starting new tasks (pipelinerunstate.go IsStopping) and fails it; a task
 * whose when expressions are false is skipped, and by default the tasks after it still run
 * (pipelinerunresolution.go skipBecauseParentTaskWasSkipped); a task reading a result that
 * does not exist is skipped (a when expression `in` over the unresolved reference is false).
 *
 * The IR's: a bare dependency (`ok`) holds when the parent succeeded or was skipped by its own
 * condition; a step whose dependency does not hold is omitted, and so are the steps after it;
 * a failure that some step depends on (`A.Failed`, any outcome, a negation) is handled and
 * leaves the run Succeeded.
 *
 * So a step whose outcome others test is *observed*: its program runs with `onError: continue`
 * and a last step `couler-outcome` writes `Succeeded` or `Failed` to the result of that name
 * (re-failing the TaskRun while retries are left, or when no step handles the failure). A test
 * of its outcome is a when expression on that result (a guard); a guard that is false skips the
 * step, and every step plainly after it carries the same guards, which is how "omitted"
 * propagates on Tekton. `X.Omitted` is the negation of X's single guard. What a result cannot
 * tell (a parent that was skipped or omitted, a fan-out's outcome) falls back to a `finally`
 * task guarded by `$(tasks.X.status)`.
 */
import { buildGraph, producersOf, topoOrder } from "../../src/ir/graph.js";
import type { Depends, Step, WorkflowIR } from "../../src/ir/types.js";
import { HANDLES_FAILURE } from "../../src/run/evaluate.js";
import type { DiagnosticBag } from "../../src/diagnostics.js";
import { dependsToStates, isOkSet, tektonStatusValues, type Lowered, type WhenAtom } from "./when.js";

/** The result an observed task writes its outcome to. */
export const OUTCOME_RESULT = "couler-outcome";

export interface StatusPlan {
  /** Observed steps, and whether a step handles their failure. */
  readonly observed: ReadonlyMap<string, { readonly handled: boolean }>;
  /** Steps that become finally tasks (a fallback), with their `$(tasks.X.status)` guards. */
  readonly final: ReadonlyMap<string, WhenAtom[]>;
  /** Guards of every other main step, and the steps it runs after. */
  readonly guards: ReadonlyMap<string, WhenAtom[]>;
  readonly runAfter: ReadonlyMap<string, string[]>;
  /** Handled failures Tekton cannot keep from failing the run (their handlers run in finally). */
  readonly unhandledOnTekton: readonly string[];
}

export interface PlanIssue {
  readonly step: string;
  readonly message: string;
}

/** Steps whose failure some step handles (as couler run decides: src/run/interpreter.ts runGraph). */
/** Tasks beyond which the stop-after-failure difference is warned without a step-by-step search. */
const LARGE_GRAPH = 1500;

export function handledSteps(steps: readonly Step[]): Set<string> {
  const handled = new Set<string>();
  const mark = (d: Depends | undefined, negated: boolean) => {
    if (!d) return;
    if (d.kind === "on") {
      if (negated || HANDLES_FAILURE.has(d.status)) handled.add(d.step);
    } else if (d.kind === "not") mark(d.of, !negated);
    else d.of.forEach((x) => mark(x, negated));
  };
  for (const s of steps) mark(s.depends, false);
  return handled;
}

const key = (a: WhenAtom) => JSON.stringify([a.input, a.operator, [...a.values].sort()]);
function addAtoms(into: WhenAtom[], atoms: readonly WhenAtom[]): void {
  for (const a of atoms) if (!into.some((b) => key(b) === key(a))) into.push(a);
}

/**
 * Plan how each main step's dependencies are expressed. `task` gives a step's task name;
 * `podStep` says whether a step is a Tekton task at all.
 */
export function planStatusDeps(wf: WorkflowIR, task: (step: string) => string, isTask: (step: string) => boolean): { plan: StatusPlan; errors: PlanIssue[] } {
  const g = buildGraph(wf);
  const order = topoOrder(wf, g);
  const errors: PlanIssue[] = [];
  const handled = handledSteps(wf.steps);
  const states = new Map<string, Map<string, Set<string>>>();
  for (const name of order) {
    const s = g.byName.get(name)!;
    if (!s.depends || !isTask(name)) continue;
    const st = dependsToStates(s.depends);
    if (!st.ok) errors.push({ step: name, message: `the dependencies of step "${name}" cannot be expressed: ${st.why}` });
    else states.set(name, st.value);
  }
  // Which parents must publish their outcome, and which dependents fall back to finally.
  const observed = new Map<string, { handled: boolean }>();
  const final = new Map<string, WhenAtom[]>();
  const kindOf = (p: string, set: ReadonlySet<string>): "ok" | "any" | "outcome" | "omitted" | "final" => {
    const ps = g.byName.get(p);
    if (isOkSet(set)) return "ok";
    // Whatever `p` did: after it, with no guard; its failure is handled, so it must not stop the run.
    if (set.size === 5 && !ps?.loop) return "any";
    const sorted = [...set].sort().join(",");
    if (sorted === "omitted") return "omitted";
    if (set.has("skipped") || set.has("omitted") || ps?.loop) return "final";
    // `A.Succeeded` on a step that can be neither skipped by its own condition nor continue after failing is the plain edge.
    if (sorted === "succeeded" && !ps?.when && !handled.has(p)) return "ok";
    return "outcome";
  };
  for (const [name, m] of states) {
    for (const [p, set] of m) {
      const k = kindOf(p, set);
      if (k === "outcome" || k === "any") observed.set(p, { handled: handled.has(p) });
      if (k === "final") final.set(name, []);
    }
  }
  for (const [p, o] of observed) {
    if (!isTask(p)) observed.delete(p);
    else o.handled = handled.has(p);
  }
  const guards = new Map<string, WhenAtom[]>();
  const runAfter = new Map<string, string[]>();
  const outcome = (p: string) => `$(tasks.${task(p)}.results.${OUTCOME_RESULT})`;
  /** What a step after `p` inherits so that it is omitted whenever `p` is. */
  const carried = (p: string): WhenAtom[] => {
    const out = [...(guards.get(p) ?? [])];
    if (observed.get(p)?.handled) addAtoms(out, [{ input: outcome(p), operator: "notin", values: ["Failed"] }]);
    return out;
  };
  for (const name of order) {
    if (!isTask(name)) continue;
    const m = states.get(name);
    const mine: WhenAtom[] = [];
    const after: string[] = [];
    if (final.has(name)) {
      for (const [p, set] of m ?? []) {
        if (!isTask(p)) continue;
        if (final.has(p) || observed.has(p)) {
          errors.push({
            step: name,
            message: `step "${name}" waits for step "${p}" in a way only a Tekton finally task can test, and step "${p}" ${final.has(p) ? "runs in finally itself" : "reports its outcome as a result"}; Tekton cannot order anything after a finally task`,
          });
          continue;
        }
        const vs: Lowered<string[]> = tektonStatusValues(p, set);
        if (!vs.ok) errors.push({ step: name, message: `the dependencies of step "${name}" cannot be expressed: ${vs.why}` });
        else if (vs.value.length < 3) final.get(name)!.push({ input: `$(tasks.${task(p)}.status)`, operator: "in", values: vs.value });
      }
      continue;
    }
    for (const [p, set] of m ?? []) {
      if (!isTask(p)) continue;
      if (final.has(p)) {
        errors.push({
          step: name,
          message: `step "${name}" waits for step "${p}", which runs in Tekton's finally section (it depends on another step having been skipped or omitted); Tekton cannot order anything after a finally task`,
        });
        continue;
      }
      after.push(p);
      const k = kindOf(p, set);
      if (k === "ok") addAtoms(mine, carried(p));
      else if (k === "outcome") {
        const check = tektonStatusValues(p, set);
        if (!check.ok) {
          errors.push({ step: name, message: `the dependencies of step "${name}" cannot be expressed: ${check.why}` });
          continue;
        }
        const values = [...(set.has("succeeded") ? ["Succeeded"] : []), ...(set.has("failed") || set.has("errored") ? ["Failed"] : [])];
        addAtoms(mine, [{ input: outcome(p), operator: "in", values }]);
      } else if (k === "omitted") {
        // Only what omits `p` itself (not the guard its own failure adds for the steps after it).
        const gp = guards.get(p) ?? [];
        if (gp.length !== 1) {
          errors.push({
            step: name,
            message:
              gp.length === 0
                ? `"${p}.Omitted" has no Tekton form: step "${p}" is omitted only when a failure stops the run, and a stopping PipelineRun starts no new task`
                : `"${p}.Omitted" has no Tekton form here: Tekton can only tell that step "${p}" did not run from the one outcome guard it carries, and it carries ${gp.length}`,
          });
          continue;
        }
        const a = gp[0]!;
        addAtoms(mine, [{ input: a.input, operator: a.operator === "in" ? "notin" : "in", values: a.values }]);
      }
    }
    // Plain readers of a producer wait for it too (their parents without depends).
    for (const p of g.parents.get(name) ?? []) if (!m?.has(p) && isTask(p)) addAtoms(mine, carried(p));
    guards.set(name, mine);
    runAfter.set(name, after);
  }
  const unhandledOnTekton = [...handled].filter((p) => isTask(p) && !observed.has(p));
  return { plan: { observed, final, guards, runAfter, unhandledOnTekton }, errors };
}

/** The script of an observed task's last step: publish the outcome of step `main`. */
export function outcomeScript(handled: boolean, retries: number): string {
  const r = `"$(results.${OUTCOME_RESULT}.path)"`;
  const lines = ["#!/bin/sh", "# couler: publishes the outcome of step main (which runs with onError: continue)", 'code=`cat "$(steps.step-main.exitCode.path)"`'];
  lines.push(`if [ "$code" = 0 ]; then printf Succeeded > ${r}; exit 0; fi`);
  if (!handled) lines.push('exit "$code"');
  else {
    if (retries > 0) lines.push(`if [ "$(context.task.retry-count)" -lt ${retries} ]; then exit "$code"; fi`);
    lines.push(`printf Failed > ${r}`);
  }
  return `${lines.join("\n")}\n`;
}

export type { Lowered };

/** Differences from couler run that the status plan cannot avoid, named at compile time. */
export function statusWarnings(wf: WorkflowIR, plan: StatusPlan, taskOf: (step: string) => { readonly step: Step; readonly final: boolean } | undefined, diag: DiagnosticBag): void {
  const g0 = buildGraph(wf);
  for (const p of plan.unhandledOnTekton) {
    const t = taskOf(p)!;
    diag.warning(
      "status",
      `the failure of step "${p}" is handled by a step that runs in Tekton's finally section, so on target tekton it still fails the PipelineRun (couler run ends Succeeded)`,
      t.step.loc,
    );
  }
  for (const [p, o] of plan.observed) {
    const t = taskOf(p)!;
    if (o.handled && t.step.when) {
      diag.warning(
        "status",
        `step "${p}" has a condition and a handled failure: on target tekton, when its condition is false the steps plainly after it are skipped too (they read its outcome result, which a skipped task does not have); couler run runs them`,
        t.step.loc,
      );
    }
    if (o.handled && t.step.timeout !== undefined) {
      diag.warning(
        "status",
        `step "${p}" has a timeout and a handled failure: on target tekton a timed-out TaskRun fails the PipelineRun and stops it, where couler run runs the steps that handle the failure`,
        t.step.loc,
      );
    }
  }
  // A value of a step that may have been skipped, or may have failed and gone on: couler run
  // fails the reader (it cannot compute its inputs or condition); Tekton skips it (an unresolved
  // result reference: pipelinerunresolution.go skipBecauseResultReferencesAreMissing) or, for a
  // failed observed step, hands it what the step printed before failing.
  for (const c of wf.steps) {
    if (!taskOf(c.name)) continue;
    const reads = new Set<string>([...producersOf(c)].filter((p) => p !== c.name));
    const lacking = [...reads].find((p) => taskOf(p) && (g0.byName.get(p)?.when !== undefined || plan.observed.has(p) || (plan.guards.get(p)?.length ?? 0) > 0 || plan.final.has(p)));
    if (lacking !== undefined) {
      diag.warning(
        "status",
        `step "${c.name}" reads a value of step "${lacking}", which may have been skipped, omitted or have failed when "${c.name}" starts: couler run then fails "${c.name}" (it cannot compute its inputs), where on target tekton the task is skipped (a missing result) or gets what "${lacking}" printed`,
        c.loc,
      );
    }
  }
  // A failure that nothing handles stops Tekton from starting any new task. couler run omits only
  // the steps below it along plain edges (ok, or succeeded): any other step that waits for
  // something may still run there, and is not started on Tekton.
  const g = buildGraph(wf);
  const propagated = new Map<string, boolean>();
  const propagates = (child: string, parent: string): boolean => {
    const key = `${child}\u0000${parent}`;
    let v = propagated.get(key);
    if (v === undefined) propagated.set(key, (v = propagatesNow(child, parent)));
    return v;
  };
  const propagatesNow = (child: string, parent: string): boolean => {
    const d = g.byName.get(child)?.depends;
    if (!d) return false; // a reader without depends fails on a missing value in couler run
    const st = dependsToStates(d);
    const set = st.ok ? st.value.get(parent) : undefined;
    return set !== undefined && (isOkSet(set) || (set.size === 1 && set.has("succeeded")));
  };
  const names = [...g.byName.keys()].filter((n) => taskOf(n) !== undefined && !taskOf(n)!.final);
  // Iterative walks with a mark per task, one pair of walks per candidate x, stopping at the
  // first x that leaves a task waiting: no recursion (10,000-step chains) and no set per task.
  const mark = new Map<string, number>();
  let stamp = 0;
  const walk = (from: string, next: (n: string) => readonly string[], keep: (child: string, parent: string) => boolean, tag: number): number => {
    let count = 0;
    const stack = [from];
    while (stack.length) {
      const n = stack.pop()!;
      for (const c of next(n)) {
        if (mark.get(c) === tag || !keep(c, n)) continue;
        mark.set(c, tag);
        count++;
        stack.push(c);
      }
    }
    return count;
  };
  const nonRoots = names.filter((y) => (g.parents.get(y) ?? []).length > 0);
  // y could still be waiting when x fails: not a root, not above x, not omitted by x's failure in couler run.
  const leavesWaiting = (x: string): boolean => {
    const tag = ++stamp;
    mark.set(x, tag);
    walk(x, (n) => g.parents.get(n) ?? [], () => true, tag);
    walk(x, (n) => g.children.get(n) ?? [], (c, n) => propagates(c, n), tag);
    return nonRoots.some((y) => mark.get(y) !== tag);
  };
  // Each candidate costs a walk of the graph: past this size the difference is warned without
  // looking for an example (over-warning, never a silent difference).
  if (names.length > LARGE_GRAPH) {
    diag.warning(
      "status",
      `a PipelineRun stops starting new tasks once a task fails: on target tekton the steps that do not depend on the failed one and have not started yet are not run, where couler run runs them; the run fails either way (not analysed step by step: ${names.length} tasks)`,
      wf.loc,
    );
    return;
  }
  const free = names.find((x) => !plan.observed.get(x)?.handled && leavesWaiting(x));
  if (free !== undefined) {
    diag.warning(
      "status",
      `a PipelineRun stops starting new tasks once a task fails (a failure no step handles, e.g. of step "${free}"): on target tekton the steps that do not depend on the failed one and have not started yet are not run, where couler run runs them; the run fails either way`,
      wf.loc,
    );
  }
}

