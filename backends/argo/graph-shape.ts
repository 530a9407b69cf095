/**
 * The shape of a graph template: a `steps` template for a plain sequence of parallel groups,
 * otherwise a `dag`, with `depends` text where statuses are involved; and the status task
 * that makes a DAG end the way the IR says (README "Ordering": a workflow fails when a step
 * failed and no step handles that failure).
 *
 * Argo rules relied on (argoproj/argo-workflows):
 * - `workflow/common/ancestry.go` expandDependency: a bare name in `depends` (and each entry of
 *   `dependencies`) means `(A.Succeeded || A.Skipped || A.Daemoned)`, plus `A.Failed` /
 *   `A.Errored` when task A has `continueOn` (we never set continueOn, so a bare name is
 *   exactly the IR's `ok`).
 * - `workflow/controller/dag.go` assessDAGPhase: a DAG's phase is decided by its leaf tasks
 *   only; a leaf that did not complete (omitted, skipped) inherits the phase of the last
 *   completed task on any path to it, Failed/Error first. So a handled failure can still fail
 *   the DAG through an omitted leaf below it, and an unhandled failure can go unnoticed when
 *   every leaf completed. The status task below is the DAG's only leaf and holds the IR rule.
 * - `workflow/controller/steps.go` executeSteps/executeStepGroup: a failed step fails its
 *   group and the template stops; used only for graphs where every edge is a plain "after",
 *   which is exactly the IR's propagation of failure.
 */
import { depAtoms, isPlainAnd, parentsOf } from "../../src/ir/graph.js";
import type { Depends, DepStatus, Step, WorkflowIR } from "../../src/ir/types.js";

const STATUS_SUFFIX: Record<Exclude<DepStatus, "ok" | "any">, string> = {
  succeeded: "Succeeded",
  failed: "Failed",
  errored: "Errored",
  skipped: "Skipped",
  omitted: "Omitted",
  daemoned: "Daemoned",
  anySucceeded: "AnySucceeded",
  allFailed: "AllFailed",
};

/** Every state a finished task can be in (the IR's `any`). */
export function anyOutcome(n: string): string {
  return `(${n}.Succeeded || ${n}.Failed || ${n}.Errored || ${n}.Skipped || ${n}.Omitted || ${n}.Daemoned)`;
}

/**
 * The parallel groups of a plain sequence, when the graph is one: the first group has no
 * dependencies and every later group depends on exactly all steps of the group before it
 * (with `ok` edges). Otherwise undefined, and the graph becomes a DAG.
 */
export function stepGroups(steps: readonly Step[] | WorkflowIR): Step[][] | undefined {
  const list = Array.isArray(steps) ? (steps as readonly Step[]) : (steps as WorkflowIR).steps;
  if (!list.every((s) => isPlainAnd(s.depends))) return undefined;
  const key = (names: readonly string[]) => [...names].sort().join("\n");
  const byParents = new Map<string, Step[]>();
  for (const s of list) {
    const k = key(parentsOf(s));
    const group = byParents.get(k) ?? [];
    group.push(s);
    byParents.set(k, group);
  }
  const groups: Step[][] = [];
  let current = byParents.get("");
  let covered = 0;
  while (current && current.length) {
    groups.push(current);
    covered += current.length;
    current = byParents.get(key(current.map((s) => s.name)));
  }
  return covered === list.length && groups.length > 0 ? groups : undefined;
}

/**
 * Steps of one graph whose failure some step handles: it depends on them with `failed`,
 * `errored`, `allFailed`, `anySucceeded`, `any`, or under a negation (the same rule as
 * src/run/interpreter.ts runGraph's `unhandled`).
 */
export function handledSteps(steps: readonly Step[]): Set<string> {
  const handles = new Set<DepStatus>(["failed", "errored", "any", "allFailed", "anySucceeded"]);
  const handled = new Set<string>();
  const mark = (d: Depends | undefined, negated: boolean) => {
    if (!d) return;
    if (d.kind === "on") {
      if (negated || handles.has(d.status)) handled.add(d.step);
    } else if (d.kind === "not") mark(d.of, !negated);
    else d.of.forEach((x) => mark(x, negated));
  };
  for (const s of steps) mark(s.depends, false);
  return handled;
}

/** Is every edge of the graph a plain "after"? Then Argo's own leaf rule already ends the graph as the IR does. */
export function isPlainGraph(steps: readonly Step[]): boolean {
  return steps.every((s) => isPlainAnd(s.depends));
}

/**
 * The `depends` text of the status task: it waits for every task, and runs (so the DAG
 * succeeds) only when no task failed unhandled. When it is omitted, assessDAGPhase gives it
 * the Failed (or Error) phase of the unhandled task, its direct parent.
 */
export function statusDepends(steps: readonly Step[], nameOf: (step: string) => string): string {
  const handled = handledSteps(steps);
  return steps
    .map((s) => {
      const n = nameOf(s.name);
      return handled.has(s.name) ? anyOutcome(n) : `(${n}.Succeeded || ${n}.Skipped || ${n}.Omitted || ${n}.Daemoned)`;
    })
    .join(" && ");
}

/** Argo's `depends` text for an IR expression. */
export function dependsText(d: Depends, nameOf: (step: string) => string, top = false): string {
  switch (d.kind) {
    case "on": {
      const n = nameOf(d.step);
      if (d.status === "ok") return n;
      if (d.status === "any") return anyOutcome(n);
      return `${n}.${STATUS_SUFFIX[d.status]}`;
    }
    case "not":
      return `!${dependsText(d.of, nameOf)}`;
    case "and":
    case "or": {
      const text = d.of.map((x) => dependsText(x, nameOf)).join(d.kind === "and" ? " && " : " || ");
      return top ? text : `(${text})`;
    }
  }
}

/** Steps named in any `depends` of the graph (for "is X a leaf"). */
export function dependedOn(steps: readonly Step[]): Set<string> {
  return new Set(steps.flatMap((s) => depAtoms(s.depends).map((a) => a.step)));
}
