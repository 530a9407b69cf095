/**
 * Read Argo output (Workflow, WorkflowTemplate or CronWorkflow YAML) back into the neutral graph.
 *
 * - The entry template (and the `onExit` template, flattened after every main step) is a
 *   `steps` template (each group runs after the whole previous group) or a `dag` template
 *   (`dependencies`: plain "after"; `depends`: parsed into a formula).
 * - A call to a graph template that calls itself at its end is a while loop: the caller is the
 *   while step, the template's other calls are its body.
 * - Reads: every `{{…}}` path in the call (arguments, `when`, `withParam`) and in the called
 *   leaf template (where `inputs.parameters.x` stands for the caller's argument x).
 */
import YAML from "yaml";
import type { OutputFile } from "../../backends/backend.js";
import type { WorkflowIR } from "../../src/ir/types.js";
import { argoRefPaths } from "./argo-text.js";
import { type Formula, type NGraph, type NStep, NameResolver, irStepNames, type OutcomeClass } from "./neutral-graph.js";

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export function readArgo(files: readonly OutputFile[], ir: WorkflowIR): NGraph {
  const docs = files.flatMap((f) => YAML.parseAllDocuments(f.content).map((d) => d.toJS() as Obj));
  const wfDoc = docs.find((d) => ["Workflow", "WorkflowTemplate", "CronWorkflow"].includes(d.kind));
  if (!wfDoc) throw new Error("no Workflow document");
  const spec: Obj = wfDoc.kind === "CronWorkflow" ? wfDoc.spec.workflowSpec : wfDoc.spec;
  const templates = new Map<string, Obj>((spec.templates as Obj[]).map((t) => [t.name, t]));
  const names = new NameResolver(irStepNames(ir));
  wrapperOutputs.clear();
  // outputs of wrapper templates (map parallelism) are their inner call's, passed up by valueFrom.parameter
  for (const t of templates.values()) {
    if (!isGraph(t)) continue;
    const outs = new Map<string, string>();
    for (const o of t.outputs?.parameters ?? []) if (o.valueFrom?.parameter !== undefined) outs.set(o.name, o.valueFrom.parameter);
    if (outs.size) wrapperOutputs.set(t.name, outs);
  }
  const callTemplate = new Map<string, string>();
  const collect = (t: Obj) => {
    for (const c of t.steps ? (t.steps as Obj[][]).flat() : (t.dag?.tasks ?? [])) if (c.template !== undefined && !wrapperOutputs.has(callTemplate.get(c.name) ?? "")) callTemplate.set(c.name, c.template);
  };
  for (const t of templates.values()) if (isGraph(t)) collect(t);
  wrapperOf = (task: string, out: string) => wrapperOutputs.get(callTemplate.get(task) ?? "")?.get(out);
  const steps: Record<string, NStep> = {};

  const params: Record<string, string | null> = {};
  for (const p of spec.arguments?.parameters ?? []) params[p.name] = p.value ?? null;

  /** Calls of a graph template, each with its direct "after" set and formula. */
  const callsOf = (t: Obj): { call: Obj; after: string[]; deps: Formula }[] => {
    if (t.steps) {
      const out: { call: Obj; after: string[]; deps: Formula }[] = [];
      let prev: string[] = [];
      for (const group of t.steps as Obj[][]) {
        for (const call of group) {
          out.push({ call, after: prev, deps: { kind: "and", of: prev.map((p) => ({ kind: "atom", step: p, classes: ["S", "K"] })) } });
        }
        prev = group.map((c) => c.name);
      }
      return out;
    }
    return (t.dag.tasks as Obj[]).map((call) => {
      if (call.depends !== undefined) {
        const f = parseDepends(call.depends);
        return { call, after: atomSteps(f), deps: f };
      }
      const deps: string[] = call.dependencies ?? [];
      return { call, after: deps, deps: { kind: "and", of: deps.map((p) => ({ kind: "atom", step: p, classes: ["S", "K"] })) } };
    });
  };


  const readsOfCall = (call: Obj, outer: readonly ReadonlyMap<string, string>[] = []): { reads: string[]; condReads: string[] } => {
    const args = new Map<string, string>();
    for (const a of call.arguments?.parameters ?? []) args.set(a.name, a.value);
    const reads = new Set<string>();
    const scan = (text: unknown, into: Set<string>) => {
      if (typeof text !== "string") return;
      for (const path of argoRefPaths(text)) for (const k of keysOfPath(path, [args, ...outer], names)) into.add(k);
    };
    for (const v of args.values()) scan(v, reads);
    if (call.withParam) scan(call.withParam, reads);
    const leaf = call.template !== undefined ? templates.get(call.template) : undefined;
    if (leaf && !isGraph(leaf)) walkStrings(leaf, (s) => scan(s, reads));
    const cond = new Set<string>();
    if (call.when) {
      scan(call.when, cond);
      for (const c of cond) reads.add(c);
    }
    return { reads: [...reads].filter(isData).sort(), condReads: [...cond].sort() };
  };

  const addGraph = (t: Obj, scope: string, extraAfter: string[] = []) => {
    const calls = callsOf(t);
    const self = calls.filter((c) => c.call.template === t.name);
    for (const { call, after, deps } of calls) {
      if (call.template === t.name) continue; // the while loop's next round
      if (call.template !== undefined && templates.get(call.template)?.suspend !== undefined) continue; // the backend's status task
      const name = names.resolve(call.name);
      const callee = call.template !== undefined ? templates.get(call.template) : undefined;
      // wrapper templates around one call (a map's parallelism limit; a fan-in item template), possibly nested
      const chain: { call: Obj; outer: Map<string, string>[] }[] = [];
      let cur: Obj = call;
      let outer: Map<string, string>[] = [];
      for (;;) {
        const c = cur.template !== undefined ? templates.get(cur.template) : undefined;
        if (!(c && isGraph(c) && !callsOf(c).some((x) => x.call.template === c.name) && callsOf(c).length === 1)) break;
        outer = [new Map<string, string>((cur.arguments?.parameters ?? []).map((a: Obj) => [a.name, a.value])), ...outer];
        cur = callsOf(c)[0]!.call;
        chain.push({ call: cur, outer });
      }
      const inner = chain.length ? chain[chain.length - 1]!.call : undefined;
      const rs = [readsOfCall(call), ...chain.map((c) => readsOfCall(c.call, c.outer))];
      const reads = [...new Set(rs.flatMap((r) => r.reads))].sort();
      const condReads = [...new Set(rs.flatMap((r) => r.condReads))].sort();
      const looping = [call, ...chain.map((c) => c.call)].find((c) => c.withItems || c.withParam);
      const loopOuter = chain.find((c) => c.call === looping)?.outer ?? [];
      const fanout = looping?.withItems
        ? `items:${(looping.withItems as unknown[]).length}`
        : looping?.withParam
          ? `from:${fromKey(looping.withParam, names, loopOuter)}`
          : null;
      const afterNames = after.map((a) => names.resolve(a));
      const step: NStep = {
        scope,
        after: [...new Set([...afterNames, ...extraAfter])].sort(),
        deps: extraAfter.length ? { kind: "const", value: true } : renameFormula(deps, names),
        reads,
        fanout,
        hasCondition: [call, ...chain.map((c) => c.call)].some((c) => c.when !== undefined),
        conditionReads: condReads,
      };
      if (callee && isGraph(callee) && !inner) {
        const loops = callsOf(callee).some((c) => c.call.template === callee.name);
        if (!loops) throw new Error(`call ${call.name} runs graph template ${callee.name}, which is not a loop`);
        steps[name] = { ...step, loop: true };
        addGraph(callee, `while:${name}`);
      } else steps[name] = step;
    }
    void self;
  };
  addGraph(templates.get(spec.entrypoint)!, "main");
  if (spec.onExit) {
    const main = Object.keys(steps).filter((n) => steps[n]!.scope === "main");
    addGraph(templates.get(spec.onExit)!, "main", main);
  }
  return { params, steps };
}

const isGraph = (t: Obj | undefined) => !!t && (t.steps !== undefined || t.dag !== undefined);
const wrapperOutputs = new Map<string, Map<string, string>>();
/** The valueFrom text behind output `out` of the call `task`, when that call runs a wrapper template. */
let wrapperOf: (task: string, out: string) => string | undefined = () => undefined;

function isData(k: string): boolean {
  return k.startsWith("param:") || k.startsWith("result:") || k.startsWith("output:");
}

function walkStrings(x: unknown, f: (s: string) => void): void {
  if (typeof x === "string") f(x);
  else if (Array.isArray(x)) for (const y of x) walkStrings(y, f);
  else if (x && typeof x === "object") for (const [k, v] of Object.entries(x)) if (k !== "name" && k !== "inputs") walkStrings(v, f);
}

/** Neutral reference keys of one Argo path (`inputs.parameters.x` follows the caller's argument x). */
function keysOfPath(path: string, argsChain: readonly ReadonlyMap<string, string>[], names: NameResolver): string[] {
  const seg = path.split(".");
  if (seg[0] === "workflow" && seg[1] === "parameters") return [`param:${seg.slice(2).join(".")}`];
  if (seg[0] === "workflow") return [`workflow.${seg[1]}`];
  if (seg[0] === "item") return [seg.length === 1 ? "item" : /^v\d+$/.test(seg[1]!) ? `item[${seg[1]!.slice(1)}]` : `item.${seg.slice(1).join(".")}`];
  if ((seg[0] === "steps" || seg[0] === "tasks") && seg[2] === "outputs") {
    const step = names.resolve(seg[1]!);
    if (seg[3] === "result") return [`result:${step}`];
    if (seg[3] === "parameters") {
      // the backend's fan-in lists (backends/argo/fan-in.ts): an item template's exported values
      const out = seg.slice(4).join(".");
      if (out === "couler-result") return [`result:${step}`];
      if (out.startsWith("couler-out-")) return [`output:${step}.${out.slice("couler-out-".length)}`];
      const via = wrapperOf(seg[1]!, out);
      if (via !== undefined) return argoRefPaths(via).flatMap((p) => keysOfPath(p, [], names));
      return [`output:${step}.${out}`];
    }
    return [];
  }
  if (seg[0] === "inputs" && seg[1] === "parameters" && argsChain.length) {
    const v = argsChain[0]!.get(seg.slice(2).join("."));
    if (v === undefined) return [];
    return argoRefPaths(v).flatMap((p) => keysOfPath(p, argsChain.slice(1), names));
  }
  return [];
}

function fromKey(text: string, names: NameResolver, argsChain: readonly ReadonlyMap<string, string>[] = []): string {
  const parts = argoRefPaths(text);
  if (parts.length !== 1) throw new Error(`withParam ${JSON.stringify(text)} is not one reference`);
  return keysOfPath(parts[0]!, argsChain, names)[0] ?? `?${parts[0]!}`;
}

const SUFFIX: Record<string, OutcomeClass[]> = {
  Succeeded: ["S"],
  Failed: ["F"],
  Errored: ["F"],
  Skipped: ["K"],
  Omitted: ["O", "U"],
  Daemoned: ["S"],
  AnySucceeded: ["S"],
  AllFailed: ["F"],
};

/** Parse Argo's `depends` text: names, `name.State`, `&&`, `||`, `!`, parentheses. A bare name means Succeeded, Skipped or Daemoned (not Omitted). */
export function parseDepends(text: string): Formula {
  const toks = text.match(/&&|\|\||!|\(|\)|[A-Za-z0-9_.-]+/g) ?? [];
  if (toks.join("") !== text.replace(/\s+/g, "")) throw new Error(`depends text with unknown characters: ${text}`);
  let i = 0;
  const or = (): Formula => {
    const of = [and()];
    while (toks[i] === "||") {
      i++;
      of.push(and());
    }
    return of.length === 1 ? of[0]! : { kind: "or", of };
  };
  const and = (): Formula => {
    const of = [unary()];
    while (toks[i] === "&&") {
      i++;
      of.push(unary());
    }
    return of.length === 1 ? of[0]! : { kind: "and", of };
  };
  const unary = (): Formula => {
    const t = toks[i++];
    if (t === "!") return { kind: "not", of: unary() };
    if (t === "(") {
      const f = or();
      if (toks[i++] !== ")") throw new Error(`unbalanced depends: ${text}`);
      return f;
    }
    if (t === undefined) throw new Error(`truncated depends: ${text}`);
    const dot = t.lastIndexOf(".");
    const suffix = dot >= 0 ? t.slice(dot + 1) : "";
    if (suffix in SUFFIX) return { kind: "atom", step: t.slice(0, dot), classes: SUFFIX[suffix]! };
    return { kind: "atom", step: t, classes: ["S", "K"] };
  };
  const f = or();
  if (i !== toks.length) throw new Error(`trailing depends text: ${text}`);
  return f;
}

function atomSteps(f: Formula, out: Set<string> = new Set()): string[] {
  if (f.kind === "atom") out.add(f.step);
  else if (f.kind === "and" || f.kind === "or") for (const x of f.of) atomSteps(x, out);
  else if (f.kind === "not") atomSteps(f.of, out);
  return [...out];
}

function renameFormula(f: Formula, names: NameResolver): Formula {
  switch (f.kind) {
    case "atom":
      return { ...f, step: names.resolve(f.step) };
    case "and":
    case "or":
      return { kind: f.kind, of: f.of.map((x) => renameFormula(x, names)) };
    case "not":
      return { kind: "not", of: renameFormula(f.of, names) };
    default:
      return f;
  }
}
