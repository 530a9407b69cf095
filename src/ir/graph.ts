/**
 * Reading the step graph out of the IR: references, dependency atoms, order, cycles.
 *
 * A built workflow's IR is deep-frozen, so what is read off a frozen node is computed once
 * and shared by validation and every backend (cached by node identity, returned frozen).
 * Nodes that are not frozen (a backend's own rewritten steps) are read afresh every time.
 */
import type { Condition, ContainerStep, DepOn, Depends, Ref, ScriptStep, Step, Value, WorkflowIR } from "./types.js";

/** Every reference inside a value, in order. */
export function refsOfValue(v: Value, out: Ref[] = []): Ref[] {
  if (typeof v === "string") return out;
  if (v.kind === "concat") {
    for (const p of v.parts) if (typeof p !== "string") out.push(p);
  } else out.push(v);
  return out;
}

/** Every value inside a condition, in order. */
export function valuesOfCondition(c: Condition | undefined, out: Value[] = []): Value[] {
  if (!c) return out;
  switch (c.kind) {
    case "compare":
      out.push(c.left, c.right);
      break;
    case "and":
    case "or":
      for (const x of c.of) valuesOfCondition(x, out);
      break;
    case "not":
      valuesOfCondition(c.of, out);
      break;
  }
  return out;
}

export function isPodStep(s: Step): s is ContainerStep | ScriptStep {
  return s.kind === "container" || s.kind === "script";
}

/**
 * Every value a step passes to what it runs, in a fixed order: command, args, env (pod
 * steps); arguments (template calls); the cache key. Not its `when` or loop.
 */
export function valuesOfStep(s: Step): Value[] {
  if (!Object.isFrozen(s)) return computeValuesOfStep(s);
  let vs = stepValues.get(s);
  if (vs === undefined) stepValues.set(s, (vs = shared(computeValuesOfStep(s))));
  return vs;
}

const stepValues = new WeakMap<Step, Value[]>();

function computeValuesOfStep(s: Step): Value[] {
  const vs: Value[] = [];
  if (isPodStep(s)) {
    for (const v of s.command ?? []) vs.push(v);
    for (const v of s.args ?? []) vs.push(v);
    for (const e of s.env ?? []) vs.push(e.value);
  } else if (s.kind === "templateRef") {
    for (const a of s.arguments ?? []) vs.push(a.value);
  }
  if (s.cache) vs.push(s.cache.key);
  return vs;
}

/**
 * Every reference a step makes as a node of its graph: its values, its `when`, its loop
 * source. (A while step's own condition reads its body, so it is not included.)
 */
export function refsOfStep(s: Step): Ref[] {
  if (!Object.isFrozen(s)) return computeRefsOfStep(s);
  let refs = stepRefs.get(s);
  if (refs === undefined) stepRefs.set(s, (refs = shared(computeRefsOfStep(s))));
  return refs;
}

const stepRefs = new WeakMap<Step, Ref[]>();
/** What an empty cached answer is (most steps read no references): one frozen array, not one each. */
const NONE: readonly never[] = Object.freeze([]);
const shared = <T>(xs: T[]): T[] => (xs.length === 0 ? (NONE as never as T[]) : (Object.freeze(xs) as T[]));

function computeRefsOfStep(s: Step): Ref[] {
  const out: Ref[] = [];
  for (const v of valuesOfStep(s)) refsOfValue(v, out);
  for (const v of valuesOfCondition(s.when)) refsOfValue(v, out);
  if (s.loop?.kind === "from") out.push(s.loop.source);
  return out;
}

/** Steps whose outputs or artifacts this step reads, de-duplicated, in first-use order. */
export function producersOf(s: Step): string[] {
  const seen = new Set<string>();
  for (const r of refsOfStep(s)) if (r.kind === "result" || r.kind === "output") seen.add(r.step);
  if (isPodStep(s)) for (const a of s.inputArtifacts ?? []) if (a.from.kind === "step") seen.add(a.from.step);
  return [...seen];
}

/** One graph of steps: the main one, each while body, and the exit handler. */
export interface StepScope {
  /** `main`, `onExit`, or `while:<step name>`. */
  readonly id: string;
  readonly steps: readonly Step[];
  /** The while step that owns this body. */
  readonly owner?: Step;
}

/** All graphs of a workflow, outermost first. */
export function stepScopes(wf: WorkflowIR): StepScope[] {
  if (!Object.isFrozen(wf)) return computeStepScopes(wf);
  let scopes = wfScopes.get(wf);
  if (scopes === undefined) wfScopes.set(wf, (scopes = Object.freeze(computeStepScopes(wf)) as StepScope[]));
  return scopes;
}

const wfScopes = new WeakMap<WorkflowIR, StepScope[]>();

function computeStepScopes(wf: WorkflowIR): StepScope[] {
  const out: StepScope[] = [];
  const walk = (id: string, steps: readonly Step[], owner?: Step) => {
    out.push(owner ? { id, steps, owner } : { id, steps });
    for (const s of steps) if (s.kind === "while") walk(`while:${s.name}`, s.body, s);
  };
  walk("main", wf.steps);
  if (wf.onExit) walk("onExit", wf.onExit);
  return out;
}

/** Every step of the workflow, at any depth, in a fixed order. */
export function allSteps(wf: WorkflowIR): Step[] {
  if (!Object.isFrozen(wf)) return stepScopes(wf).flatMap((sc) => [...sc.steps]);
  let all = wfSteps.get(wf);
  if (all === undefined) wfSteps.set(wf, (all = Object.freeze(stepScopes(wf).flatMap((sc) => [...sc.steps])) as Step[]));
  return all;
}

const wfSteps = new WeakMap<WorkflowIR, Step[]>();

export function depAtoms(d: Depends | undefined, out?: DepOn[]): DepOn[] {
  if (out !== undefined) return collectAtoms(d, out);
  if (!d) return [];
  if (!Object.isFrozen(d)) return collectAtoms(d, []);
  let atoms = dependsAtoms.get(d);
  if (atoms === undefined) dependsAtoms.set(d, (atoms = Object.freeze(d.kind === "on" ? [d] : collectAtoms(d, [])) as DepOn[]));
  return atoms;
}

const dependsAtoms = new WeakMap<Depends, DepOn[]>();

function collectAtoms(d: Depends | undefined, out: DepOn[]): DepOn[] {
  if (!d) return out;
  switch (d.kind) {
    case "on":
      out.push(d);
      break;
    case "and":
    case "or":
      for (const x of d.of) collectAtoms(x, out);
      break;
    case "not":
      collectAtoms(d.of, out);
      break;
  }
  return out;
}

/** Names of the steps this step waits for, de-duplicated, sorted. */
export function parentsOf(s: Step): string[] {
  if (!Object.isFrozen(s)) return computeParentsOf(s);
  let ps = stepParents.get(s);
  if (ps === undefined) stepParents.set(s, (ps = shared(computeParentsOf(s))));
  return ps;
}

const stepParents = new WeakMap<Step, string[]>();

function computeParentsOf(s: Step): string[] {
  const d = s.depends;
  if (!d) return [];
  if (d.kind === "on") return [d.step];
  const atoms = depAtoms(d);
  if (atoms.length > 8) return [...new Set(atoms.map((a) => a.step))].sort();
  const out: string[] = [];
  for (const a of atoms) if (!out.includes(a.step)) out.push(a.step);
  return out.sort();
}

/** True when `d` is a plain conjunction of `ok` edges (what most engines call "after"). */
export function isPlainAnd(d: Depends | undefined): boolean {
  if (!d) return true;
  if (d.kind === "on") return d.status === "ok";
  if (d.kind === "and") return d.of.every((x) => x.kind === "on" && x.status === "ok");
  return false;
}

export function and(items: readonly Depends[]): Depends | undefined {
  if (items.length === 0) return undefined;
  if (items.length === 1 && items[0]!.kind !== "and") return items[0];
  if (items.length <= 8 && items.every((x) => x.kind === "on")) {
    // A few atoms (the usual case): de-duplicated by comparing them, no keys to build.
    const uniq: DepOn[] = [];
    for (const x of items as DepOn[]) if (!uniq.some((u) => u.step === x.step && u.status === x.status)) uniq.push(x);
    return uniq.length === 1 ? uniq[0] : { kind: "and", of: uniq };
  }
  const flat: Depends[] = [];
  for (const i of items) {
    if (i.kind === "and") flat.push(...i.of);
    else flat.push(i);
  }
  const seen = new Set<string>();
  const uniq = flat.filter((x) => {
    // An atom is always { kind, step, status }; the key of anything else is its JSON.
    const k = x.kind === "on" ? `\u0000${x.step}\u0000${x.status}` : JSON.stringify(x);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
  if (uniq.length === 0) return undefined;
  if (uniq.length === 1) return uniq[0];
  return { kind: "and", of: uniq };
}

export interface StepGraph {
  readonly byName: ReadonlyMap<string, Step>;
  readonly parents: ReadonlyMap<string, readonly string[]>;
  readonly children: ReadonlyMap<string, readonly string[]>;
}

/** The graph of one scope's steps (the main graph by default). */
export function buildGraph(wf: WorkflowIR | readonly Step[]): StepGraph {
  const steps = Array.isArray(wf) ? (wf as readonly Step[]) : (wf as WorkflowIR).steps;
  if (!Object.isFrozen(steps)) return computeGraph(steps);
  let g = graphs.get(steps);
  if (g === undefined) graphs.set(steps, (g = computeGraph(steps)));
  return g;
}

const graphs = new WeakMap<readonly Step[], StepGraph>();

function computeGraph(steps: readonly Step[]): StepGraph {
  const byName = new Map<string, Step>();
  for (const s of steps) if (!byName.has(s.name)) byName.set(s.name, s);
  const parents = new Map<string, string[]>();
  const children = new Map<string, string[]>();
  for (const name of byName.keys()) children.set(name, []);
  for (const s of byName.values()) {
    const all = parentsOf(s);
    const ps = all.every((p) => byName.has(p)) ? all : all.filter((p) => byName.has(p));
    parents.set(s.name, ps);
    for (const p of ps) children.get(p)!.push(s.name);
  }
  return { byName, parents, children };
}

/**
 * One cycle, as the list of step names along it (first name repeated at the end), or
 * undefined when the graph is acyclic. Deterministic: searches from names in sorted order.
 */
export function findCycle(g: StepGraph): string[] | undefined {
  // Steps are usually created after the steps they wait for: when every edge leads to a
  // later step, there is no cycle to look for.
  const pos = new Map<string, number>();
  for (const n of g.byName.keys()) pos.set(n, pos.size);
  let forward = true;
  for (const [n, kids] of g.children) {
    const i = pos.get(n);
    if (i === undefined || !kids.every((k) => (pos.get(k) ?? -1) > i)) {
      forward = false;
      break;
    }
  }
  if (forward) return undefined;
  const state = new Map<string, 1 | 2>();
  const stack: string[] = [];
  const names = [...g.byName.keys()].sort();
  for (const root of names) {
    if (state.has(root)) continue;
    // iterative DFS: frames of [node, next-child-index, children in sorted order]
    const frames: [string, number, readonly string[]][] = [[root, 0, sortedKids(g, root)]];
    state.set(root, 1);
    stack.push(root);
    while (frames.length) {
      const top = frames[frames.length - 1]!;
      const kids = top[2];
      if (top[1] < kids.length) {
        const k = kids[top[1]++]!;
        const st = state.get(k);
        if (st === 1) {
          const from = stack.indexOf(k);
          return [...stack.slice(from), k];
        }
        if (st === undefined) {
          state.set(k, 1);
          stack.push(k);
          frames.push([k, 0, sortedKids(g, k)]);
        }
      } else {
        state.set(top[0], 2);
        stack.pop();
        frames.pop();
      }
    }
  }
  return undefined;
}

function sortedKids(g: StepGraph, n: string): readonly string[] {
  const kids = g.children.get(n);
  return !kids || kids.length === 0 ? [] : kids.length === 1 ? kids : [...kids].sort();
}

/** Kahn's order, ties broken by creation order. Assumes no cycle (cycle members are left out). */
export function topoOrder(wf: WorkflowIR | readonly Step[], g: StepGraph = buildGraph(wf)): string[] {
  const steps = Array.isArray(wf) ? (wf as readonly Step[]) : (wf as WorkflowIR).steps;
  // Cached only for the shared graph of frozen steps: `g` may be a caller's own.
  if (!Object.isFrozen(steps) || graphs.get(steps) !== g) return computeTopoOrder(steps, g);
  let order = orders.get(g);
  if (order === undefined) orders.set(g, (order = Object.freeze(computeTopoOrder(steps, g)) as string[]));
  return order;
}

const orders = new WeakMap<StepGraph, string[]>();

function computeTopoOrder(steps: readonly Step[], g: StepGraph): string[] {
  const index = new Map<string, number>();
  steps.forEach((s, i) => index.has(s.name) || index.set(s.name, i));
  // When every step comes after the steps it waits for (the usual case), the order below,
  // ties broken by creation order, is creation order itself.
  const inOrder: string[] = [];
  let last = -1;
  for (const [n, ps] of g.parents) {
    const i = index.get(n);
    if (i === undefined || i < last || !ps.every((p) => (index.get(p) ?? Infinity) < i)) break;
    last = i;
    inOrder.push(n);
  }
  if (inOrder.length === g.parents.size) return inOrder;
  const indeg = new Map<string, number>();
  for (const [n, ps] of g.parents) indeg.set(n, ps.length);
  // a small binary heap keyed by creation index keeps this O(n log n) for big graphs
  const heap: string[] = [];
  const less = (a: string, b: string) => index.get(a)! < index.get(b)!;
  const push = (n: string) => {
    heap.push(n);
    let i = heap.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(heap[i]!, heap[p]!)) break;
      [heap[i], heap[p]] = [heap[p]!, heap[i]!];
      i = p;
    }
  };
  const pop = (): string => {
    const top = heap[0]!;
    const last = heap.pop()!;
    if (heap.length) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < heap.length && less(heap[l]!, heap[m]!)) m = l;
        if (r < heap.length && less(heap[r]!, heap[m]!)) m = r;
        if (m === i) break;
        [heap[i], heap[m]] = [heap[m]!, heap[i]!];
        i = m;
      }
    }
    return top;
  };
  for (const [n, d] of indeg) if (d === 0) push(n);
  const out: string[] = [];
  while (heap.length) {
    const n = pop();
    out.push(n);
    for (const c of g.children.get(n) ?? []) {
      const d = indeg.get(c)! - 1;
      indeg.set(c, d);
      if (d === 0) push(c);
    }
  }
  return out;
}

/** Steps nothing else waits for, in creation order. */
export function sinks(wf: WorkflowIR | readonly Step[], g: StepGraph = buildGraph(wf)): string[] {
  return [...g.byName.keys()].filter((n) => (g.children.get(n)?.length ?? 0) === 0);
}
