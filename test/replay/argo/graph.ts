/**
 * `steps` and `dag` templates (workflow/controller/steps.go, dag.go), run one call at a time in
 * a fixed order (parallel groups in written order, DAG tasks in written order as they become
 * ready): the engines' parallelism does not change how these workflows end.
 *
 * - A call: its `when`, `arguments` and `withParam` are substituted with the scope (steps.go
 *   resolveReferences, dag.go resolveDependencyReferences); `withItems`/`withParam` expand it
 *   once per item (operator.go processItem: `item` is the string itself, a number as `%v`, a map
 *   or list as its JSON, and `item.KEY` for each key of a map); each expanded call's `when`
 *   decides (steps.go shouldExecute): false gives Skipped, an invalid one Error. A withParam
 *   that is not a JSON list errors the call; an empty one is Skipped (dag.go "Skipped, empty params").
 * - Outputs into the scope (operator.go buildLocalScope, processAggregateNodeOutputs): see
 *   scope.ts.
 * - steps: a group whose child Failed or Errored fails the template, which stops there
 *   (steps.go executeSteps, executeStepGroup).
 * - dag: `depends` text, where a bare name is `(A.Succeeded || A.Skipped || A.Daemoned)`, and
 *   `dependencies` lists the same way (workflow/common/ancestry.go GetTaskDependencies,
 *   expandDependency), evaluated as an expression over each parent's TaskResults with `-` read
 *   as `_` (dag.go evaluateDependsLogic); false gives Omitted. The DAG's phase: dag.go
 *   assessDAGPhase (see dagPhase).
 */
import { evalExpr } from "./expr.js";
import { executeCall } from "./execute.js";
import { type Engine, type NodeRes, type Obj, type Phase, completed, failedOrError } from "./node.js";
import { addAggregate, addNode, captures } from "./scope.js";
import { shouldExecute, substitute, substituteDeep, TemplateError } from "./template.js";

type Kind = "steps" | "tasks";

/** Go's `%v` of a JSON value inside an item. */
function goV(v: unknown): string {
  if (typeof v === "string") return v;
  if (v === null) return "<nil>";
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  if (Array.isArray(v)) return `[${v.map(goV).join(" ")}]`;
  return `map[${Object.keys(v as object).sort().map((k) => `${k}:${goV((v as Record<string, unknown>)[k])}`).join(" ")}]`;
}

function itemScope(scope: ReadonlyMap<string, string>, item: unknown): Map<string, string> {
  const s = new Map(scope);
  if (item !== null && typeof item === "object" && !Array.isArray(item)) {
    for (const [k, v] of Object.entries(item)) s.set(`item.${k}`, goV(v));
    s.set("item", JSON.stringify(item));
  } else s.set("item", typeof item === "string" ? item : Array.isArray(item) ? JSON.stringify(item) : goV(item));
  return s;
}

/** Run one step/task call: expansion, `when`, the template. */
async function runCall(call: Obj, scope: ReadonlyMap<string, string>, kind: Kind, parent: Obj, engine: Engine): Promise<NodeRes> {
  const one = async (s: ReadonlyMap<string, string>): Promise<NodeRes> => {
    try {
      if (call.when !== undefined && !shouldExecute(substitute(String(call.when), s))) return { phase: "Skipped", message: "when evaluated false" };
      const args = substituteDeep((call.arguments?.parameters ?? []) as Obj[], s);
      const params = new Map(args.map((a) => [String(a.name), String(a.value ?? "")]));
      return await executeCall({ template: call.template, parameters: params, captureResult: captures(parent, kind, call.name) }, engine);
    } catch (e) {
      if (e instanceof TemplateError) return { phase: "Error", message: e.message };
      throw e;
    }
  };
  if (call.templateRef) return { phase: "Error", message: "a template reference cannot run here" };
  if (call.withItems === undefined && call.withParam === undefined) return one(scope);
  let items: unknown[];
  if (call.withItems !== undefined) items = call.withItems as unknown[];
  else {
    let text: string;
    try {
      text = substitute(String(call.withParam), scope);
      items = JSON.parse(text);
    } catch (e) {
      return { phase: "Error", message: `withParam value could not be parsed as a JSON list: ${(e as Error).message}` };
    }
    if (!Array.isArray(items)) return { phase: "Error", message: "withParam value is not a JSON list" };
  }
  if (items.length === 0) return { phase: "Skipped", message: "Skipped, empty params", items: [] };
  const nodes: NodeRes[] = [];
  for (const item of items) nodes.push(await one(itemScope(scope, item)));
  let phase: Phase = "Succeeded";
  for (const n of nodes) if (failedOrError(n.phase)) phase = n.phase;
  return { phase, items: nodes };
}

export async function runGraph(t: Obj, base: ReadonlyMap<string, string>, engine: Engine): Promise<{ node: NodeRes; scope: Map<string, string> }> {
  return t.steps ? runSteps(t, base, engine) : runDag(t, base, engine);
}

async function runSteps(t: Obj, base: ReadonlyMap<string, string>, engine: Engine): Promise<{ node: NodeRes; scope: Map<string, string> }> {
  const scope = new Map(base);
  const calls = new Map<string, NodeRes>();
  for (const group of t.steps as Obj[][]) {
    const done: [Obj, NodeRes][] = [];
    for (const step of group) {
      const n = await runCall(step, scope, "steps", t, engine);
      calls.set(step.name, n);
      done.push([step, n]);
    }
    const failed = done.find(([, n]) => failedOrError(n.phase));
    if (failed) return { node: { phase: "Failed", calls, template: t.name, message: `child '${failed[0].name}' failed` }, scope };
    for (const [step, n] of done) {
      if (n.items) {
        const err = addAggregate(scope, "steps", step.name, n.items.filter((i) => i.phase !== "Skipped"));
        if (err) return { node: { phase: "Error", calls, template: t.name, message: err }, scope };
      } else addNode(scope, "steps", step.name, n);
    }
  }
  return { node: { phase: "Succeeded", calls, template: t.name }, scope };
}

const TASK_NAME = /([a-zA-Z0-9][-a-zA-Z0-9]*?\.[A-Z][a-zA-Z]+)|([a-zA-Z0-9][-a-zA-Z0-9]*)/g;

/** Parents and the resolved depends logic of a task (ancestry.go GetTaskDependencies). */
function dependsOf(task: Obj): { parents: string[]; logic: string } {
  const expand = (n: string) => `(${n}.Succeeded || ${n}.Skipped || ${n}.Daemoned)`;
  if (task.depends === undefined || task.depends === "") {
    const deps = (task.dependencies ?? []) as string[];
    return { parents: [...deps], logic: deps.map(expand).join(" && ") };
  }
  const text = String(task.depends);
  const parents = new Set<string>();
  const logic = text.replace(TASK_NAME, (m, withResult: string | undefined, bare: string | undefined) => {
    if (withResult) {
      parents.add(withResult.split(".")[0]!);
      return m;
    }
    parents.add(bare!);
    return expand(bare!);
  });
  return { parents: [...parents], logic };
}

function taskResults(n: NodeRes): Record<string, boolean> {
  const items = n.items ?? [];
  return {
    Succeeded: n.phase === "Succeeded",
    Failed: n.phase === "Failed",
    Errored: n.phase === "Error",
    Skipped: n.phase === "Skipped",
    Omitted: n.phase === "Omitted",
    Daemoned: false,
    AnySucceeded: items.some((i) => i.phase === "Succeeded"),
    AllFailed: items.length > 0 && items.every((i) => i.phase === "Failed"),
  };
}

async function runDag(t: Obj, base: ReadonlyMap<string, string>, engine: Engine): Promise<{ node: NodeRes; scope: Map<string, string> }> {
  const scope = new Map(base);
  const tasks = t.dag.tasks as Obj[];
  const deps = new Map(tasks.map((x) => [x.name as string, dependsOf(x)]));
  const calls = new Map<string, NodeRes>();
  for (let progress = true; progress; ) {
    progress = false;
    for (const task of tasks) {
      if (calls.has(task.name)) continue;
      const d = deps.get(task.name)!;
      if (!d.parents.every((p) => calls.has(p))) continue;
      progress = true;
      let n: NodeRes;
      if (d.logic !== "") {
        const env = Object.fromEntries(d.parents.map((p) => [p.replace(/-/g, "_"), taskResults(calls.get(p)!)]));
        let run: unknown;
        try {
          run = evalExpr(d.logic.replace(/-/g, "_"), env);
        } catch (e) {
          run = e as Error;
        }
        if (run instanceof Error || typeof run !== "boolean") n = { phase: "Error", message: `unable to evaluate expression '${d.logic}'` };
        else if (!run) n = { phase: "Omitted", message: "omitted: depends condition not met" };
        else n = await runCall(task, scope, "tasks", t, engine);
      } else n = await runCall(task, scope, "tasks", t, engine);
      calls.set(task.name, n);
      if (n.items) {
        const err = addAggregate(scope, "tasks", task.name, n.items);
        if (err) return { node: { phase: "Error", calls, template: t.name, message: err }, scope };
      } else addNode(scope, "tasks", task.name, n);
    }
  }
  return { node: { phase: dagPhase(tasks, deps, calls), calls, template: t.name }, scope };
}

/**
 * dag.go assessDAGPhase: the target tasks are the leaves (tasks no task depends on,
 * findLeafTaskNames, sorted). A leaf that completed has its own phase; one that did not
 * (skipped, omitted) takes the phases reaching it from its parents, where a completed node
 * passes its own phase on and others pass on what reached them (from the DAG's start:
 * Succeeded; a loop's items pass their own phases). The first leaf, in name order, with a
 * Failed or Error phase among those decides (failFast); otherwise Succeeded.
 */
function dagPhase(tasks: readonly Obj[], deps: ReadonlyMap<string, { parents: string[] }>, calls: ReadonlyMap<string, NodeRes>): Phase {
  const memo = new Map<string, Set<Phase>>();
  const carried = (name: string): Set<Phase> => {
    const hit = memo.get(name);
    if (hit) return hit;
    const n = calls.get(name)!;
    let out: Set<Phase>;
    const parents = deps.get(name)!.parents;
    const inherited = () => (parents.length ? new Set(parents.flatMap((p) => [...passedOn(p)])) : new Set<Phase>(["Succeeded"]));
    out = completed(n.phase) ? new Set([n.phase]) : inherited();
    memo.set(name, out);
    return out;
  };
  // what a task passes to its dependents: a loop's items, each its own phase (or the group's when not completed)
  const passedOn = (name: string): Set<Phase> => {
    const n = calls.get(name)!;
    if (n.items?.length) return new Set(n.items.map((i) => (completed(i.phase) ? i.phase : [...carried(name)][0]!)));
    return carried(name);
  };
  const depended = new Set([...deps.values()].flatMap((d) => d.parents));
  const leaves = tasks.map((x) => x.name as string).filter((n) => !depended.has(n)).sort();
  for (const leaf of leaves) {
    const phases = carried(leaf);
    if (phases.has("Failed")) return "Failed";
    if (phases.has("Error")) return "Error";
  }
  return "Succeeded";
}
