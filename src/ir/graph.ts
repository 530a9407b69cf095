/** Reading the step graph out of the IR: references, dependency atoms, order, cycles. */
import type { DepOn, Depends, Ref, Step, Value, WorkflowIR } from "./types.js";

/** Every reference inside a value, in order. */
export function refsOfValue(v: Value, out: Ref[] = []): Ref[] {
  if (typeof v === "string") return out;
  if (v.kind === "concat") {
    for (const p of v.parts) if (typeof p !== "string") out.push(p);
  } else out.push(v);
  return out;
}

/** Every value a step carries, in a fixed order (command, args, env). */
export function valuesOfStep(s: Step): Value[] {
  const vs: Value[] = [];
  for (const v of s.command ?? []) vs.push(v);
  for (const v of s.args ?? []) vs.push(v);
  for (const e of s.env ?? []) vs.push(e.value);
  return vs;
}

export function refsOfStep(s: Step): Ref[] {
  const out: Ref[] = [];
  for (const v of valuesOfStep(s)) refsOfValue(v, out);
  return out;
}

/** Steps whose outputs this step reads, de-duplicated, in first-use order. */
export function producersOf(s: Step): string[] {
  const seen = new Set<string>();
  for (const r of refsOfStep(s)) if (r.kind !== "param") seen.add(r.step);
  return [...seen];
}

export function depAtoms(d: Depends | undefined, out: DepOn[] = []): DepOn[] {
  if (!d) return out;
  switch (d.kind) {
    case "on":
      out.push(d);
      break;
    case "and":
    case "or":
      for (const x of d.of) depAtoms(x, out);
      break;
    case "not":
      depAtoms(d.of, out);
      break;
  }
  return out;
}

/** Names of the steps this step waits for, de-duplicated, sorted. */
export function parentsOf(s: Step): string[] {
  return [...new Set(depAtoms(s.depends).map((a) => a.step))].sort();
}

/** True when `d` is a plain conjunction of `ok` edges (what most engines call "after"). */
export function isPlainAnd(d: Depends | undefined): boolean {
  if (!d) return true;
  if (d.kind === "on") return d.status === "ok";
  if (d.kind === "and") return d.of.every((x) => x.kind === "on" && x.status === "ok");
  return false;
}

export function and(items: readonly Depends[]): Depends | undefined {
  const flat: Depends[] = [];
  for (const i of items) {
    if (i.kind === "and") flat.push(...i.of);
    else flat.push(i);
  }
  const seen = new Set<string>();
  const uniq = flat.filter((x) => {
    const k = JSON.stringify(x);
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

export function buildGraph(wf: WorkflowIR): StepGraph {
  const byName = new Map<string, Step>();
  for (const s of wf.steps) if (!byName.has(s.name)) byName.set(s.name, s);
  const parents = new Map<string, string[]>();
  const children = new Map<string, string[]>();
  for (const name of byName.keys()) children.set(name, []);
  for (const s of byName.values()) {
    const ps = parentsOf(s).filter((p) => byName.has(p));
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
  const state = new Map<string, 1 | 2>();
  const stack: string[] = [];
  const names = [...g.byName.keys()].sort();
  for (const root of names) {
    if (state.has(root)) continue;
    // iterative DFS: frames of [node, next-child-index]
    const frames: [string, number][] = [[root, 0]];
    state.set(root, 1);
    stack.push(root);
    while (frames.length) {
      const top = frames[frames.length - 1]!;
      const kids = [...(g.children.get(top[0]) ?? [])].sort();
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
          frames.push([k, 0]);
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

/** Kahn's order, ties broken by creation order. Assumes no cycle (cycle members are left out). */
export function topoOrder(wf: WorkflowIR, g: StepGraph = buildGraph(wf)): string[] {
  const index = new Map<string, number>();
  wf.steps.forEach((s, i) => index.has(s.name) || index.set(s.name, i));
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
export function sinks(wf: WorkflowIR, g: StepGraph = buildGraph(wf)): string[] {
  return [...g.byName.keys()].filter((n) => (g.children.get(n)?.length ?? 0) === 0);
}
