/**
 * The engine-neutral graph a workflow means, and how to compare two of them.
 *
 * `graphOfIR(ir)` computes it from the IR; each reader under test/readback/ recovers it from
 * one backend's emitted files. Both sides use IR step names: readers map target names back
 * through `NameResolver` (see there). What is compared, and why it is compared that way:
 *
 * - steps: the same set of steps, each in the same scope. Exit-handler steps are flattened
 *   into the main graph, after every main step (that is what "runs when the workflow ends"
 *   means on engines without a separate exit section); while-loop bodies keep their scope.
 * - order: the transitive closure of "starts after", per scope. Closure, not direct edges,
 *   because engines add edges the IR leaves implicit (Tekton and GitHub order a reader
 *   after the producer it reads; Argo's steps form orders whole groups).
 * - start rules: each step's "may start" rule over its parents' outcomes (S succeeded, F failed
 *   or errored, K skipped, O omitted), compared by running both graphs over the same runs and
 *   checking every step ends the same way (`compareRuns`). Readers that cannot read a step's
 *   rule exactly leave it out, and the IR's rule stands in for it.
 * - reads: which workflow params, step results (`result:step`) and declared outputs
 *   (`output:step.name`) each step consumes (in its values, its condition or its fan-out).
 * - fan-out: none, `items:<rows>` or `from:<ref>`.
 * - condition: whether the step has a `when`, and (when the reader can tell them apart)
 *   which references it reads.
 */
import { depAtoms, refsOfStep, refsOfValue, valuesOfCondition, valuesOfStep } from "../../src/ir/graph.js";
import type { Depends, DepStatus, Ref, Step, WorkflowIR } from "../../src/ir/types.js";

/**
 * Succeeded, failed (or errored), skipped (its condition was false, or its fan-out list empty),
 * omitted (its start rule was false). `U` is an omission caused by a failure upstream, for engines
 * that tell the two apart (Airflow's `upstream_failed`); elsewhere it reads as O.
 */
export type OutcomeClass = "S" | "F" | "K" | "O" | "U";

/** A "may start" formula over parents' outcome classes. */
export type Formula =
  | { readonly kind: "atom"; readonly step: string; readonly classes: readonly OutcomeClass[] }
  | { readonly kind: "and" | "or"; readonly of: readonly Formula[] }
  | { readonly kind: "not"; readonly of: Formula }
  | { readonly kind: "const"; readonly value: boolean }
  /** A target's own start rule (a GitHub `if:`), as a function of the parents' classes. */
  | { readonly kind: "fn"; readonly steps: readonly string[]; readonly test: (env: ReadonlyMap<string, OutcomeClass>) => boolean };

export interface NStep {
  /** `main` or `while:<step>`. */
  readonly scope: string;
  /** Direct "starts after" edges as written in the target (closure is compared). */
  readonly after: readonly string[];
  /** "May start" formula, when the reader can tell (undefined: not compared). */
  readonly deps?: Formula;
  readonly reads: readonly string[];
  readonly fanout: string | null;
  readonly hasCondition: boolean;
  /** References read by the condition, when the reader can tell them apart. */
  readonly conditionReads?: readonly string[];
  /** True for a while step (its body is the scope `while:<name>`). */
  readonly loop?: boolean;
}

export interface NGraph {
  /** name -> default (null when none). */
  readonly params: Readonly<Record<string, string | null>>;
  readonly steps: Readonly<Record<string, NStep>>;
  /** How the target marks a step whose start rule is false (default O). */
  readonly omittedAs?: (step: string, env: ReadonlyMap<string, OutcomeClass>) => OutcomeClass;
}

/** `param:day`, `result:train`, `output:train.model`, `item`, `item.id`, `item[1]`, `workflow.status`. */
export function refKey(r: Ref): string {
  switch (r.kind) {
    case "param":
      return `param:${r.name}`;
    case "result":
      return `result:${r.step}`;
    case "output":
      return `output:${r.step}.${r.output}`;
    case "item":
      return r.field !== undefined ? `item.${r.field}` : r.index !== undefined ? `item[${r.index}]` : "item";
    case "workflow":
      return `workflow.${r.field}`;
  }
}

/** References that are edges of the data graph (params and step outputs); items and workflow facts are not. */
export function isDataKey(k: string): boolean {
  return k.startsWith("param:") || k.startsWith("result:") || k.startsWith("output:");
}

const sorted = (xs: Iterable<string>) => [...new Set(xs)].sort();

const CLASSES_OF: Record<DepStatus, OutcomeClass[]> = {
  ok: ["S", "K"],
  succeeded: ["S"],
  failed: ["F"],
  errored: ["F"],
  skipped: ["K"],
  omitted: ["O", "U"],
  daemoned: ["S"],
  anySucceeded: ["S"],
  allFailed: ["F"],
  any: ["S", "F", "K", "O", "U"],
};

export function formulaOfDepends(d: Depends | undefined): Formula {
  if (!d) return { kind: "const", value: true };
  switch (d.kind) {
    case "on":
      return { kind: "atom", step: d.step, classes: CLASSES_OF[d.status] };
    case "and":
    case "or":
      return { kind: d.kind, of: d.of.map(formulaOfDepends) };
    case "not":
      return { kind: "not", of: formulaOfDepends(d.of) };
  }
}

/**
 * The neutral graph of an IR workflow.
 *
 * ```ts
 * graphOfIR(wf.ir).steps["evaluate"].reads // ["output:train.accuracy", "param:threshold"]
 * ```
 */
export function graphOfIR(ir: WorkflowIR): NGraph {
  const steps: Record<string, NStep> = {};
  const add = (s: Step, scope: string, extraAfter: readonly string[]) => {
    const condReads = sorted(valuesOfCondition(s.when).flatMap((v) => refsOfValue(v)).map(refKey));
    const reads = sorted(refsOfStep(s).map(refKey).filter(isDataKey));
    const fanout =
      s.loop === undefined ? null : s.loop.kind === "items" ? `items:${s.loop.items.length}` : `from:${refKey(s.loop.source)}`;
    const after = sorted([...depAtoms(s.depends).map((a) => a.step), ...extraAfter]);
    steps[s.name] = {
      scope,
      after,
      deps: extraAfter.length ? { kind: "const", value: true } : formulaOfDepends(s.depends),
      reads,
      fanout,
      hasCondition: s.when !== undefined,
      conditionReads: condReads,
      ...(s.kind === "while" ? { loop: true } : {}),
    };
    if (s.kind === "while") for (const b of s.body) add(b, `while:${s.name}`, []);
  };
  for (const s of ir.steps) add(s, "main", []);
  const mainNames = ir.steps.map((s) => s.name);
  for (const s of ir.onExit ?? []) {
    // exit steps: after every main step, whatever its outcome; their own order among themselves stays
    add(s, "main", s.depends ? [] : mainNames);
    if (s.depends) steps[s.name] = { ...steps[s.name]!, after: sorted([...steps[s.name]!.after, ...mainNames]) };
  }
  const params: Record<string, string | null> = {};
  for (const p of ir.params) params[p.name] = p.default ?? null;
  return { params, steps };
}

function evalFormula(f: Formula, env: ReadonlyMap<string, OutcomeClass>): boolean {
  switch (f.kind) {
    case "const":
      return f.value;
    case "atom":
      return f.classes.includes(env.get(f.step) ?? "S");
    case "and":
      return f.of.every((x) => evalFormula(x, env));
    case "or":
      return f.of.some((x) => evalFormula(x, env));
    case "not":
      return !evalFormula(f.of, env);
    case "fn":
      return f.test(env);
  }
}

/**
 * Run both graphs' start rules over the same run and compare who runs. A run fixes, for each
 * step, what happens if it starts: it succeeds or fails (only steps whose failure some step
 * waits for may fail: an unhandled failure fails the run on every engine, and what still starts
 * then is each engine's own policy), and (when it has a condition or a run-time fan-out, which
 * may be empty) whether it is skipped. Then in dependency order a step whose start rule is false
 * ends Omitted (O), else Skipped (K) when skipped, else its outcome. Runs are exhaustive up to
 * 4096, else 2048 deterministic samples. Steps without a read-back rule use the IR's. Returns
 * the first difference.
 */
export function compareRuns(ir: WorkflowIR, want: NGraph, got: NGraph): string | undefined {
  const order = topoNames(want);
  // Only failures someone waits for: an unhandled failure fails the whole run on every engine
  // (see the note on omitted steps in the README text of the read-back report).
  const handled = new Set<string>();
  const visitF = (f: Formula | undefined) => {
    if (!f) return;
    if (f.kind === "atom" && f.classes.includes("F")) handled.add(f.step);
    else if (f.kind === "and" || f.kind === "or") f.of.forEach(visitF);
    else if (f.kind === "not") visitF(f.of);
  };
  for (const n of order) visitF(want.steps[n]!.deps);
  const mayFail = order.filter((n) => handled.has(n));
  const skippable = order.filter((n) => want.steps[n]!.hasCondition || (want.steps[n]!.fanout ?? "").startsWith("from:"));
  const bits = mayFail.length + skippable.length;
  const exhaustive = bits <= 12;
  const runs = exhaustive ? 1 << bits : 2048;
  let seed = 987654321;
  const rand = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 4294967296;
  for (let r = 0; r < runs; r++) {
    const fails = new Map<string, boolean>();
    const skips = new Map<string, boolean>();
    mayFail.forEach((n, i) => fails.set(n, exhaustive ? ((r >> i) & 1) === 1 : rand() < 0.3));
    skippable.forEach((n, i) => skips.set(n, exhaustive ? ((r >> (mayFail.length + i)) & 1) === 1 : rand() < 0.5));
    const simulate = (g: NGraph): Map<string, OutcomeClass> => {
      const env = new Map<string, OutcomeClass>();
      for (const n of order) {
        const f = g.steps[n]?.deps ?? want.steps[n]!.deps ?? { kind: "const", value: true };
        env.set(n, !evalFormula(f, env) ? (g.omittedAs?.(n, env) ?? "O") : skips.get(n) ? "K" : fails.get(n) ? "F" : "S");
      }
      return env;
    };
    const a = simulate(want);
    const b = simulate(got);
    const same = (x?: OutcomeClass, y?: OutcomeClass) => (x === "U" ? "O" : x) === (y === "U" ? "O" : y);
    for (const n of order) {
      if (!same(a.get(n), b.get(n))) {
        const run = order.map((m) => `${m}:${fails.get(m) ? "fails" : "ok"}${skips.get(m) ? "+skipped" : ""}`).join(" ");
        return `step ${JSON.stringify(n)} ends ${a.get(n)} by the IR but ${b.get(n)} as read back, in the run ${run} (S succeeded, F failed, K skipped, O omitted)`;
      }
    }
  }
  return undefined;
}

function topoNames(g: NGraph): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  const visit = (n: string) => {
    if (seen.has(n)) return;
    seen.add(n);
    for (const p of g.steps[n]?.after ?? []) if (g.steps[p]) visit(p);
    out.push(n);
  };
  for (const n of Object.keys(g.steps).sort()) visit(n);
  return out;
}

function closure(g: NGraph, scope: string): Map<string, Set<string>> {
  const names = Object.keys(g.steps).filter((n) => g.steps[n]!.scope === scope);
  const memo = new Map<string, Set<string>>();
  const visit = (n: string, stack: Set<string>): Set<string> => {
    const hit = memo.get(n);
    if (hit) return hit;
    const out = new Set<string>();
    if (stack.has(n)) return out;
    stack.add(n);
    for (const p of g.steps[n]?.after ?? []) {
      if (g.steps[p]?.scope !== scope) continue;
      out.add(p);
      for (const q of visit(p, stack)) out.add(q);
    }
    stack.delete(n);
    memo.set(n, out);
    return out;
  };
  for (const n of names) visit(n, new Set());
  return memo;
}

export interface CompareOptions {
  /** Compare `conditionReads` (readers that keep a condition's references apart). */
  readonly conditionReads?: boolean;
  /**
   * The target reports skipped and omitted as one state (GitHub's `skipped`), and the backend
   * warns that `.Skipped` / `.Omitted` edges match either: the IR's rule is compared as written
   * with that approximation.
   */
  readonly skippedIsOmitted?: boolean;
}

/**
 * Differences between the IR's graph and a read-back graph, as readable lines; empty when equal.
 *
 * ```ts
 * assert.deepEqual(compareGraphs(ir, graphOfIR(ir), readArgo(files)), []);
 * ```
 */
export function compareGraphs(ir: WorkflowIR, want: NGraph, got: NGraph, opts: CompareOptions = {}): string[] {
  const out: string[] = [];
  const eq = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  if (!eq(sortObj(want.params), sortObj(got.params))) out.push(`params: expected ${JSON.stringify(sortObj(want.params))}, read ${JSON.stringify(sortObj(got.params))}`);
  const wn = Object.keys(want.steps).sort();
  const gn = Object.keys(got.steps).sort();
  if (!eq(wn, gn)) {
    out.push(`steps: expected [${wn.join(", ")}], read [${gn.join(", ")}]`);
    return out;
  }
  const scopes = new Set(wn.map((n) => want.steps[n]!.scope));
  const closures = new Map([...scopes].map((s) => [s, [closure(want, s), closure(got, s)]] as const));
  for (const n of wn) {
    const w = want.steps[n]!;
    const g = got.steps[n]!;
    const where = `step ${JSON.stringify(n)}`;
    if (w.scope !== g.scope) {
      out.push(`${where}: scope expected ${w.scope}, read ${g.scope}`);
      continue;
    }
    const [cw, cg] = closures.get(w.scope)!;
    const a = sorted(cw.get(n) ?? []);
    const b = sorted(cg.get(n) ?? []);
    if (!eq(a, b)) out.push(`${where}: runs after (transitively) expected [${a.join(", ")}], read [${b.join(", ")}]`);
    if (!eq(w.reads, g.reads)) out.push(`${where}: reads expected [${w.reads.join(", ")}], read [${g.reads.join(", ")}]`);
    if (w.fanout !== g.fanout) out.push(`${where}: fan-out expected ${w.fanout}, read ${g.fanout}`);
    if (w.hasCondition !== g.hasCondition) out.push(`${where}: condition expected ${w.hasCondition}, read ${g.hasCondition}`);
    if (opts.conditionReads && g.conditionReads && !eq(w.conditionReads, g.conditionReads))
      out.push(`${where}: condition reads expected [${w.conditionReads?.join(", ")}], read [${g.conditionReads.join(", ")}]`);
    if (!!w.loop !== !!g.loop) out.push(`${where}: while loop expected ${!!w.loop}, read ${!!g.loop}`);
  }
  if (!out.length) {
    const d = compareRuns(ir, opts.skippedIsOmitted ? mergeSkippedOmitted(want) : want, got);
    if (d) out.push(`start rules: ${d}`);
  }
  return out;
}

/** The IR's rules with every edge on "skipped" or "omitted" widened to either (see `skippedIsOmitted`). */
function mergeSkippedOmitted(g: NGraph): NGraph {
  const widen = (f: Formula): Formula => {
    switch (f.kind) {
      case "atom":
        return f.classes.every((c) => c === "K" || c === "O" || c === "U") ? { ...f, classes: ["K", "O", "U"] } : f;
      case "and":
      case "or":
        return { kind: f.kind, of: f.of.map(widen) };
      case "not":
        return { kind: "not", of: widen(f.of) };
      default:
        return f;
    }
  };
  return { ...g, steps: Object.fromEntries(Object.entries(g.steps).map(([n, s]) => [n, s.deps ? { ...s, deps: widen(s.deps) } : s])) };
}

function sortObj<T>(o: Readonly<Record<string, T>>): Record<string, T> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/**
 * Maps target names back to IR names. Backends keep a name the target accepts and otherwise
 * mangle it by fixed rules (lower case, other characters replaced, long names cut and suffixed
 * with an 8-hex hash). We do not re-run the backend's rules (that would test them against
 * themselves): a target name matches the IR name that is equal to it, else the one with the same
 * letters and digits ignoring case, else (hashed) the one whose letters and digits start with
 * the name's before the hash, else the one it ends with after a short prefix (`s-0123`). A name
 * that matches no step or several is an error.
 */
export class NameResolver {
  private readonly exact: Set<string>;
  private readonly byKey = new Map<string, string[]>();
  constructor(names: Iterable<string>) {
    this.exact = new Set(names);
    for (const n of this.exact) {
      const k = key(n);
      this.byKey.set(k, [...(this.byKey.get(k) ?? []), n]);
    }
  }
  /** The IR name, or undefined when the target name is not a step (a helper task or job). */
  tryResolve(target: string): string | undefined {
    if (this.exact.has(target)) return target;
    const k = key(target);
    const same = this.byKey.get(k);
    if (same?.length === 1) return same[0];
    if (same && same.length > 1) throw new Error(`target name ${target} matches several steps: ${same.join(", ")}`);
    // a name that must start with a letter may gain a short prefix (`0123` -> `s-0123`)
    const prefixed = [...this.exact].filter((n) => k.endsWith(key(n)) && k.length - key(n).length <= 2 && key(n).length > 0);
    const longest = Math.max(0, ...prefixed.map((n) => key(n).length));
    const best = prefixed.filter((n) => key(n).length === longest);
    if (best.length === 1) return best[0];
    const hashed = /^(.*?)[-_]?[0-9a-f]{8}$/.exec(target);
    if (hashed) {
      const pre = key(hashed[1]!);
      const cands = [...this.exact].filter((n) => key(n).startsWith(pre) && pre.length > 0);
      if (cands.length === 1) return cands[0];
    }
    return undefined;
  }
  resolve(target: string): string {
    const r = this.tryResolve(target);
    if (r === undefined) throw new Error(`target name ${JSON.stringify(target)} matches no step`);
    return r;
  }
}

function key(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9]/g, "");
}

/** All step names of the IR, any depth. */
export function irStepNames(ir: WorkflowIR): string[] {
  const out: string[] = [];
  const walk = (ss: readonly Step[]) => {
    for (const s of ss) {
      out.push(s.name);
      if (s.kind === "while") walk(s.body);
    }
  };
  walk(ir.steps);
  walk(ir.onExit ?? []);
  return out;
}

export { valuesOfStep };
