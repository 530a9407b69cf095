/**
 * When a job starts: `needs` and the job-level `if:`.
 *
 * The IR's rules (src/run/evaluate.ts, atomHolds): a bare edge on P holds when P succeeded or
 * was skipped by its own condition; a P that failed or was omitted omits the step. A step whose
 * start rule holds but whose `when` is false is skipped; a fan-out over an empty run-time list
 * succeeds with no items.
 *
 * GitHub reports a job as `success`, `failure`, `cancelled` or `skipped` (`needs.<id>.result`),
 * and a job that `continue-on-error` let fail as `success` (actions/runner#1161). So the four IR
 * outcomes are read back from what GitHub shows:
 * - succeeded: `success` (and, for a job whose failure is handled, no `couler_failed` output);
 *   a fan-out over a run-time list that was skipped by its empty-list guard also succeeded;
 * - failed: `failure` or `cancelled`, or, for a handled job, its `couler_failed` output;
 * - skipped (own condition) and omitted (start rule false) are both `skipped`: they are told
 *   apart by evaluating the parent's own start rule over *its* parents (`start(P)`), which a
 *   dependent can do because it also `needs` every job that rule reads (GitHub's `needs`
 *   context holds direct needs only).
 *
 * A job whose start rule is a plain AND of bare edges, below ancestors that all are too (no
 * condition, no run-time fan-out, no handled failure), keeps GitHub's own rule: no `if:`
 * (`success()`: every needed job succeeded, which is then exactly the IR's rule). Every other job
 * writes `!cancelled() && <start rule>`.
 */
import { buildGraph, isPlainAnd, refsOfValue, topoOrder, valuesOfCondition } from "../../src/ir/graph.js";
import type { Depends, Step, Value } from "../../src/ir/types.js";
import { property } from "./expressions.js";

/** The job output a handled job sets to `true` when it failed (its `result` says `success`). */
export const FAILED_OUTPUT = "couler_failed";

/** Statuses that run a step when its parent did not succeed: the parent's failure is handled (src/run/evaluate.ts HANDLES_FAILURE). */
const HANDLES = new Set(["failed", "errored", "any", "allFailed", "anySucceeded"]);

/** Steps whose failure some step of `steps` handles (an edge on a failure status, or under a negation). */
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

/** An expression with the job ids it reads from `needs`. */
interface Ex {
  readonly text: string;
  readonly needs: ReadonlySet<string>;
}

const TRUE: Ex = { text: "true", needs: new Set() };
const FALSE: Ex = { text: "false", needs: new Set() };

function join(op: "&&" | "||", xs: readonly Ex[]): Ex {
  const unit = op === "&&" ? TRUE : FALSE;
  const zero = op === "&&" ? FALSE : TRUE;
  const kept = xs.filter((x) => x.text !== unit.text);
  if (kept.some((x) => x.text === zero.text)) return zero;
  if (kept.length === 0) return unit;
  if (kept.length === 1) return kept[0]!;
  const needs = new Set<string>();
  for (const x of kept) for (const n of x.needs) needs.add(n);
  return { text: `(${kept.map((x) => x.text).join(` ${op} `)})`, needs };
}
const and = (...xs: Ex[]) => join("&&", xs);
const or = (...xs: Ex[]) => join("||", xs);
function not(x: Ex): Ex {
  if (x.text === "true") return FALSE;
  if (x.text === "false") return TRUE;
  return { text: `!${x.text.startsWith("(") ? x.text : `(${x.text})`}`, needs: x.needs };
}

export interface OrderingHost {
  /** The job id of a step. */
  idOf(step: string): string;
  /** The job ids that hold a step's outputs (its own, and its fan-in collector when it has one). */
  outputJobsOf(step: string): string[];
  /** A step's job-level condition as an expression (undefined: none, or one checked per matrix instance). */
  whenOf(s: Step): string | undefined;
  /** The empty-list guard of a fan-out over a run-time list. */
  guardOf(s: Step): string | undefined;
  /** Say that GitHub cannot tell this status apart, or refuse it. */
  approximate(s: Step, what: "errored", parent: string): void;
  refuse(s: Step, status: string, parent: string): void;
}

/** Start rules for the steps of one scope (the main graph, or the exit handler). */
export class JobStarts {
  private readonly byName = new Map<string, Step>();
  readonly handled: Set<string>;
  private readonly plain = new Set<string>();
  private readonly memo = new Map<string, Ex>();

  constructor(
    steps: readonly Step[],
    private readonly host: OrderingHost,
  ) {
    for (const s of steps) this.byName.set(s.name, s);
    this.handled = handledSteps(steps);
    const g = buildGraph(steps);
    // plain: this step and every ancestor start on plain AND edges and end only succeeded,
    // failed, or omitted because of a failure (no condition, no run-time fan-out, no handled failure)
    for (const name of topoOrder(steps, g)) {
      const s = g.byName.get(name)!;
      const parents = g.parents.get(name) ?? [];
      const ok = isPlainAnd(s.depends) && parents.every((p) => this.plain.has(p) && this.endsPlainly(this.byName.get(p)!));
      if (ok) this.plain.add(name);
    }
  }

  private endsPlainly(s: Step): boolean {
    return this.host.whenOf(s) === undefined && s.loop?.kind !== "from" && !this.handled.has(s.name);
  }

  /** True when GitHub's default rule (all needs succeeded) is exactly the step's start rule. */
  isDefault(s: Step): boolean {
    return this.plain.has(s.name);
  }

  /** The start rule over `needs`, and the jobs it reads. */
  startRule(s: Step): Ex {
    return this.start(s);
  }

  private result(p: string): string {
    return property("needs", this.host.idOf(p), "result");
  }

  private ref(p: string, text: string, extra: readonly string[] = []): Ex {
    return { text, needs: new Set([this.host.idOf(p), ...extra]) };
  }

  /** P's condition and guard, as seen from a job that needs P's producers too. */
  private valueJobs(values: readonly Value[]): string[] {
    const out: string[] = [];
    for (const v of values) for (const r of refsOfValue(v)) if (r.kind === "result" || r.kind === "output") out.push(...this.host.outputJobsOf(r.step));
    return out;
  }

  private whenEx(p: Step): Ex | undefined {
    const w = this.host.whenOf(p);
    return w === undefined ? undefined : { text: `(${w})`, needs: new Set(this.valueJobs(valuesOfCondition(p.when))) };
  }

  private guardEx(p: Step): Ex | undefined {
    const g = this.host.guardOf(p);
    if (g === undefined || p.loop?.kind !== "from") return undefined;
    return { text: `(${g})`, needs: new Set(this.valueJobs([p.loop.source])) };
  }

  private skippedByGitHub(p: string): Ex {
    return this.ref(p, `${this.result(p)} == 'skipped'`);
  }

  /** P succeeded. */
  succeeded(p: string): Ex {
    const s = this.byName.get(p)!;
    const r = this.result(p);
    const ran = this.handled.has(p)
      ? this.ref(p, `(${r} == 'success' && ${property("needs", this.host.idOf(p), "outputs", FAILED_OUTPUT)} != 'true')`)
      : this.ref(p, `${r} == 'success'`);
    const guard = this.guardEx(s);
    if (!guard) return ran;
    // skipped with its start rule and condition true: only the empty-list guard was false
    const w = this.whenEx(s);
    return or(ran, and(this.skippedByGitHub(p), this.start(s), ...(w ? [w] : [])));
  }

  /** P failed (GitHub has no separate errored state). */
  failed(p: string): Ex {
    const r = this.result(p);
    if (this.handled.has(p)) return this.ref(p, `${property("needs", this.host.idOf(p), "outputs", FAILED_OUTPUT)} == 'true'`);
    return this.ref(p, `(${r} == 'failure' || ${r} == 'cancelled')`);
  }

  /** P was skipped by its own condition. */
  skipped(p: string): Ex {
    const s = this.byName.get(p)!;
    const w = this.whenEx(s);
    if (!w) return FALSE;
    const guard = this.guardEx(s);
    return and(this.skippedByGitHub(p), this.start(s), ...(guard ? [not(w)] : []));
  }

  /** P's start rule was false. */
  omitted(p: string): Ex {
    return and(this.skippedByGitHub(p), not(this.start(this.byName.get(p)!)));
  }

  private start(s: Step): Ex {
    const have = this.memo.get(s.name);
    if (have) return have;
    const ex = s.depends ? this.depends(s.depends, s) : TRUE;
    this.memo.set(s.name, ex);
    return ex;
  }

  private depends(d: Depends, s: Step): Ex {
    switch (d.kind) {
      case "and":
        return and(...d.of.map((x) => this.depends(x, s)));
      case "or":
        return or(...d.of.map((x) => this.depends(x, s)));
      case "not":
        return not(this.depends(d.of, s));
      case "on": {
        const p = d.step;
        switch (d.status) {
          case "ok":
            return or(this.succeeded(p), this.skipped(p));
          case "succeeded":
            return this.succeeded(p);
          case "failed":
            return this.failed(p);
          case "errored":
            this.host.approximate(s, "errored", p);
            return this.failed(p);
          case "skipped":
            return this.skipped(p);
          case "omitted":
            return this.omitted(p);
          case "any":
            return TRUE;
          case "daemoned":
            this.host.refuse(s, "Daemoned", p);
            return FALSE;
          case "anySucceeded":
          case "allFailed":
            if (this.byName.get(p)!.loop) {
              this.host.refuse(s, d.status === "anySucceeded" ? "AnySucceeded" : "AllFailed", p);
              return FALSE;
            }
            return d.status === "anySucceeded" ? this.succeeded(p) : this.failed(p);
        }
      }
    }
    return FALSE;
  }
}
