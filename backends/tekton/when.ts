/**
 * Conditions and status dependencies as Tekton `when` expressions.
 *
 * A Tekton `when` list is a conjunction of membership tests (`input in [values]`,
 * `input notin [values]`). What a list can say: `eq`/`ne`, `and` of those, `not` pushed
 * inward, and `or` of equalities on one input (`x in [a, b]`). Numeric comparisons and an
 * `or` across inputs have no form there; they are reported, not approximated.
 */
import type { Condition, DepStatus, Depends, Value } from "../../src/ir/types.js";

export interface WhenAtom {
  readonly input: string;
  readonly operator: "in" | "notin";
  readonly values: readonly string[];
}

export type Lowered<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly why: string };

const ok = <T>(value: T): Lowered<T> => ({ ok: true, value });
const fail = <T>(why: string): Lowered<T> => ({ ok: false, why });

/** Renders one compare side at pipeline level, or says why it cannot. */
export type SideRenderer = (v: Value) => Lowered<string>;

/** A compare whose one side is the workflow status: Tekton's `$(tasks.status)` values for a literal. */
export type StatusMapper = (literal: string) => Lowered<readonly string[]>;

function isStatusRef(v: unknown): boolean {
  return typeof v === "object" && v !== null && (v as { kind?: string }).kind === "workflow" && (v as { field?: string }).field === "status";
}

/**
 * A condition as a `when` list.
 *
 * ```ts
 * conditionToWhen({ kind: "compare", op: "eq", left: { kind: "param", name: "env" }, right: "prod" }, render, status);
 * // ok: [{ input: "$(params.env)", operator: "in", values: ["prod"] }]
 * ```
 */
export function conditionToWhen(c: Condition, render: SideRenderer, status: StatusMapper, negate = false): Lowered<WhenAtom[]> {
  switch (c.kind) {
    case "not":
      return conditionToWhen(c.of, render, status, !negate);
    case "compare": {
      if (c.op !== "eq" && c.op !== "ne") {
        return fail(`a numeric comparison (${c.op}) has no Tekton when form: when expressions only test membership (in / notin)`);
      }
      const positive = (c.op === "eq") !== negate;
      const operator = positive ? "in" : "notin";
      const statusSide = isStatusRef(c.left) ? c.right : isStatusRef(c.right) ? c.left : undefined;
      if (statusSide !== undefined) {
        if (typeof statusSide !== "string") return fail("the workflow status can only be compared with a literal status on Tekton");
        const vs = status(statusSide);
        if (!vs.ok) return vs;
        return ok([{ input: "$(tasks.status)", operator, values: [...vs.value] }]);
      }
      const l = render(c.left);
      if (!l.ok) return l;
      const r = render(c.right);
      if (!r.ok) return r;
      return ok([{ input: l.value, operator, values: [r.value] }]);
    }
    case "and":
    case "or": {
      // De Morgan: a negated and is an or of negations, and the other way round.
      const conj = (c.kind === "and") !== negate;
      const parts: WhenAtom[][] = [];
      for (const x of c.of) {
        const p = conditionToWhen(x, render, status, negate);
        if (!p.ok) return p;
        parts.push(p.value);
      }
      if (conj) return ok(parts.flat());
      return orOfAtoms(parts);
    }
  }
}

/** `or` of when lists: only single tests on one input with one operator merge. */
function orOfAtoms(parts: WhenAtom[][]): Lowered<WhenAtom[]> {
  if (parts.length === 1) return ok(parts[0]!);
  const why = "an or of conditions on different values (or of compound conditions) has no Tekton when form: a when list is a conjunction";
  if (parts.some((p) => p.length !== 1)) return fail(why);
  const atoms = parts.map((p) => p[0]!);
  const first = atoms[0]!;
  if (!atoms.every((a) => a.input === first.input && a.operator === first.operator)) return fail(why);
  if (first.operator === "in") {
    const values = [...new Set(atoms.flatMap((a) => a.values))];
    return ok([{ input: first.input, operator: "in", values }]);
  }
  // x notin A or x notin B  ==  x notin (A and B)
  let common = new Set(first.values);
  for (const a of atoms.slice(1)) common = new Set(a.values.filter((v) => common.has(v)));
  if (common.size === 0) return fail("this or of inequalities always holds; write the step without the condition");
  return ok([{ input: first.input, operator: "notin", values: [...common] }]);
}

// ---------------------------------------------------------------- status dependencies

/** The IR states a finished step can be in (daemons aside). */
const STATES = ["succeeded", "failed", "errored", "skipped", "omitted"] as const;
type State = (typeof STATES)[number];

const STATUS_STATES: Partial<Record<DepStatus, readonly State[]>> = {
  // A bare dependency: the parent succeeded or was skipped by its own condition (an omitted parent omits the step).
  ok: ["succeeded", "skipped"],
  succeeded: ["succeeded"],
  failed: ["failed"],
  errored: ["errored"],
  skipped: ["skipped"],
  omitted: ["omitted"],
  // Finished in any state, also skipped or omitted (src/run/evaluate.ts atomHolds).
  any: ["succeeded", "failed", "errored", "skipped", "omitted"],
};

type Pred = { readonly kind: "one"; readonly step: string; readonly states: ReadonlySet<State> } | { readonly kind: "all"; readonly of: ReadonlyMap<string, ReadonlySet<State>> };

/**
 * A dependency expression as one set of allowed IR states per upstream step (a conjunction),
 * or why it is not one (an `or` across steps, a daemon or fan-out status).
 *
 * ```ts
 * dependsToStates({ kind: "on", step: "a", status: "failed" }); // ok: Map { "a" => {"failed"} }
 * ```
 */
export function dependsToStates(d: Depends): Lowered<Map<string, Set<State>>> {
  const r = pred(d);
  if (!r.ok) return r;
  const p = r.value;
  if (p.kind === "one") return ok(new Map([[p.step, new Set(p.states)]]));
  return ok(new Map([...p.of].map(([k, v]) => [k, new Set(v)])));
}

function pred(d: Depends): Lowered<Pred> {
  switch (d.kind) {
    case "on": {
      const st = STATUS_STATES[d.status];
      if (!st) {
        return fail(
          d.status === "daemoned"
            ? `"${d.step}.Daemoned" has no Tekton form: Tekton has no daemon steps`
            : `"${d.step}.${d.status === "anySucceeded" ? "AnySucceeded" : "AllFailed"}" has no Tekton form: a matrix task reports one status for all its instances`,
        );
      }
      return ok({ kind: "one", step: d.step, states: new Set(st) });
    }
    case "not": {
      const x = pred(d.of);
      if (!x.ok) return x;
      if (x.value.kind === "one") {
        const s = x.value.states;
        return ok({ kind: "one", step: x.value.step, states: new Set(STATES.filter((v) => !s.has(v))) });
      }
      if (x.value.of.size === 1) {
        const [step, s] = [...x.value.of][0]!;
        return ok({ kind: "one", step, states: new Set(STATES.filter((v) => !s.has(v))) });
      }
      return fail("a negated condition on several steps is an or across steps, which has no Tekton form");
    }
    case "and": {
      const m = new Map<string, Set<State>>();
      for (const x of d.of) {
        const p = pred(x);
        if (!p.ok) return p;
        const entries = p.value.kind === "one" ? [[p.value.step, p.value.states] as const] : [...p.value.of];
        for (const [step, s] of entries) {
          const have = m.get(step);
          m.set(step, have ? new Set([...have].filter((v) => s.has(v))) : new Set(s));
        }
      }
      return ok({ kind: "all", of: m });
    }
    case "or": {
      let step: string | undefined;
      const s = new Set<State>();
      for (const x of d.of) {
        const p = pred(x);
        if (!p.ok) return p;
        const entries = p.value.kind === "one" ? [[p.value.step, p.value.states] as const] : [...p.value.of];
        if (entries.length !== 1) return fail("an or across several steps has no Tekton form: a when list is a conjunction");
        const [st, set] = entries[0]!;
        if (step !== undefined && st !== step) return fail("an or across several steps has no Tekton form: a when list is a conjunction");
        step = st;
        for (const v of set) s.add(v);
      }
      return step === undefined ? fail("an empty or") : ok({ kind: "one", step, states: s });
    }
  }
}

/** Is this set the plain "after" edge (`ok`)? */
export function isOkSet(s: ReadonlySet<string>): boolean {
  return s.size === 2 && s.has("succeeded") && s.has("skipped");
}

/**
 * The values of `$(tasks.<name>.status)` (Succeeded, Failed, None) that match exactly the
 * IR states in `s`. Tekton reports failures and errors alike as Failed, and a task that did
 * not run (skipped by its when, or never reached) as None; a set that splits one of those
 * is refused.
 */
export function tektonStatusValues(step: string, s: ReadonlySet<string>): Lowered<string[]> {
  const out: string[] = [];
  if (s.has("succeeded")) out.push("Succeeded");
  if (s.has("failed")) out.push("Failed");
  else if (s.has("errored")) {
    return fail(`"${step}.Errored" has no Tekton form: Tekton reports errors as Failed; depend on "${step}.Failed" (which also covers errors)`);
  }
  if (s.has("skipped") !== s.has("omitted")) {
    return fail(
      `"${step}.${s.has("skipped") ? "Skipped" : "Omitted"}" alone has no Tekton form: Tekton reports a task that was skipped and one that never ran alike (None)`,
    );
  }
  if (s.has("skipped")) out.push("None");
  if (out.length === 0) return fail(`the dependency on "${step}" can never hold`);
  return ok(out);
}
