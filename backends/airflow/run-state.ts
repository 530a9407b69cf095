/**
 * How a step's `depends` and the workflow's final status become Airflow tasks.
 *
 * The IR's rules (src/run/evaluate.ts `atomHolds`, src/run/interpreter.ts "unhandled") need to
 * know whether a parent *itself* failed, was skipped by its own condition, or was omitted.
 * Airflow's trigger rules cannot say that: `one_failed` and `all_failed` also count
 * `upstream_failed` (airflow/ti_deps/deps/trigger_rule_dep.py, `_evaluate_direct_relatives`),
 * and a rule that is not met marks a task `skipped`, the state a false `when` gives. So:
 *
 * - A bare dependency (`ok` edges only) is `none_failed`: it runs after parents that succeeded
 *   or were skipped, and marks the step `upstream_failed` when one failed or was omitted.
 * - Only `any` edges: `all_done`.
 * - Anything else gets a gate task `<step>__depends` (trigger rule `all_done`) that reads its
 *   parents' task-instance states and evaluates the IR's expression; when it does not hold the
 *   gate fails, so the step (default `all_success`) ends `upstream_failed`, which is how Airflow
 *   shows every omitted step. Hence, in the DAG run: `skipped` is only ever a false `when` (or an
 *   empty fan-out), `upstream_failed` is only ever "omitted".
 * - The DAG run's state follows its leaf tasks (airflow/models/dagrun.py `update_state`). When a
 *   failure could be handled or masked (any gate or `any` edge, or an exit handler), a last task
 *   `couler_workflow_failed` waits for every task (`all_done`) and fails exactly when a step
 *   failed that no step handles; it is then the DAG's only leaf, so the run ends as `couler run`.
 */
import { depAtoms, isPlainAnd } from "../../src/ir/graph.js";
import type { Depends, DepStatus, Step } from "../../src/ir/types.js";
import { dict, list, lit, type Py } from "./templates.js";

/** What a run-time helper needs to know about one step's tasks. */
export interface StepTasks {
  /** The step's own task id. */
  readonly task: string;
  /** Its `__when` / `__items` helpers: when one of them fails, the step failed. */
  readonly helpers: readonly string[];
  readonly mapped: boolean;
}

/** Statuses that say "I run when that step did not succeed" (src/run/evaluate.ts HANDLES_FAILURE). */
const HANDLES: ReadonlySet<DepStatus> = new Set(["failed", "errored", "any", "allFailed", "anySucceeded"]);

/** Steps of one graph whose failure another step of it handles (as couler run decides it). */
export function handledSteps(steps: readonly Step[]): Set<string> {
  const out = new Set<string>();
  const mark = (d: Depends | undefined, negated: boolean): void => {
    if (!d) return;
    if (d.kind === "on") {
      if (negated || HANDLES.has(d.status)) out.add(d.step);
    } else if (d.kind === "not") mark(d.of, !negated);
    else d.of.forEach((x) => mark(x, negated));
  };
  for (const s of steps) mark(s.depends, false);
  return out;
}

export type DependsLowering = { readonly rule: "none_failed" | "all_done" } | { readonly gate: true };

/** How a step's `depends` is lowered (see the file comment). */
export function lowerDepends(d: Depends): DependsLowering {
  if (isPlainAnd(d)) return { rule: "none_failed" };
  const onlyAny = d.kind === "on" ? d.status === "any" : d.kind === "and" && d.of.every((x) => x.kind === "on" && x.status === "any");
  if (onlyAny) return { rule: "all_done" };
  return { gate: true };
}

/** True when the DAG run's state needs the `couler_workflow_failed` task to match the IR. */
export function needsRunStateTask(steps: readonly Step[], hasExitHandler: boolean): boolean {
  return hasExitHandler || steps.some((s) => s.depends !== undefined && !isPlainAnd(s.depends));
}

/** Statuses the gate reads as Failed: Airflow cannot tell a step that could not start from one that failed. */
export function erroredAtoms(d: Depends | undefined): string[] {
  return depAtoms(d)
    .filter((a) => a.status === "errored")
    .map((a) => a.step);
}

/** The `depends` expression as data for `_couler_depends`, steps named by their task ids. */
export function dependsPy(d: Depends, taskOf: (step: string) => string): Py {
  switch (d.kind) {
    case "on":
      return dict([
        ["step", lit(taskOf(d.step))],
        ["status", lit(d.status === "errored" ? "failed" : d.status)],
      ]);
    case "and":
    case "or":
      return dict([["op", lit(d.kind)], ["of", list(d.of.map((x) => dependsPy(x, taskOf)))]]);
    case "not":
      return dict([["op", lit("not")], ["of", dependsPy(d.of, taskOf)]]);
  }
}

/** `{task id: {"helpers": [...], "mapped": bool}}` for the steps a run-time helper reads. */
export function stepsPy(steps: readonly StepTasks[]): Py {
  return dict(
    steps.map((s) => [s.task, dict([["helpers", lit([...s.helpers])], ["mapped", lit(s.mapped)]])] as const),
  );
}
