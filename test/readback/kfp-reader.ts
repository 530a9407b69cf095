/**
 * Read a KFP pipeline spec back into the neutral graph.
 *
 * - A task whose component has an executor is a step. A DAG task whose DAG holds exactly one
 *   task of the same name is that step's wrapper: with a parameterIterator it is the step's
 *   fan-out, with a trigger condition the step's condition. Any other DAG task is a graph: its
 *   tasks are steps of the same scope; a graph task triggered ALL_UPSTREAM_TASKS_COMPLETED is
 *   the exit handler, whose steps run after every main step (flattened, as the IR's graph does).
 * - Conditions: `triggerPolicy.condition` on the step's task (or on a wrapper task).
 * - Start rules: `dependentTasks` means "each of these succeeded". A task whose condition is false
 *   is skipped, which is not success; a DAG task without a condition of its own succeeds when the
 *   task inside it was skipped or its list was empty. So a dependency on a step whose outer task
 *   is such a DAG is met by S or K, otherwise by S only (see backends/kfp/README.md).
 * - Reads: an executor's input placeholders in its container, a condition's
 *   `inputs.parameter_values['k']` and a loop's items, each traced through component inputs and
 *   DAG outputs to a root parameter or a producer's output (`Output` is the step's stdout).
 */
import YAML from "yaml";
import type { OutputFile } from "../../backends/backend.js";
import type { WorkflowIR } from "../../src/ir/types.js";
import { type Formula, type NGraph, type NStep, NameResolver, irStepNames } from "./neutral-graph.js";

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

interface Ctx {
  readonly comp: Obj;
  readonly parent?: Ctx;
  /** The task in the parent that runs this DAG. */
  readonly task?: Obj;
}

export function readKfp(files: readonly OutputFile[], ir: WorkflowIR): NGraph {
  const docs = files.flatMap((f) => YAML.parseAllDocuments(f.content).map((d) => d.toJS() as Obj));
  const spec = docs[0];
  if (!spec?.root?.dag) throw new Error("no PipelineSpec with a root DAG");
  const comps: Obj = spec.components ?? {};
  const names = new NameResolver(irStepNames(ir));
  const params: Record<string, string | null> = {};
  for (const [k, p] of Object.entries<Obj>(spec.root.inputDefinitions?.parameters ?? {})) params[k] = p.defaultValue ?? null;
  const rootCtx: Ctx = { comp: spec.root };
  const compOf = (t: Obj): Obj => {
    const c = comps[t.componentRef?.name];
    if (!c) throw new Error(`unknown component ${t.componentRef?.name}`);
    return c;
  };

  /** The neutral key an input spec of a task in `ctx` carries, or undefined (a constant). */
  const trace = (ctx: Ctx, spec: Obj): string | undefined => {
    if (spec.taskFinalStatus) return "workflow.status";
    if (spec.runtimeValue) return spec.runtimeValue.constant === "{{$.pipeline_job_name}}" ? "workflow.name" : undefined;
    if (spec.taskOutputParameter) return traceOutput(ctx.comp.dag.tasks[spec.taskOutputParameter.producerTask], spec.taskOutputParameter.outputParameterKey);
    const k = spec.componentInputParameter;
    if (k === undefined) throw new Error(`input spec ${JSON.stringify(spec)}`);
    if (!ctx.parent) return `param:${k}`;
    const it = ctx.task!.parameterIterator;
    if (it && it.itemInput === k) {
      const sel = /^parseJson\(string_value\)\[(".*")\]$/.exec(spec.parameterExpressionSelector ?? "");
      if (!sel) return "item";
      const f = JSON.parse(sel[1]!) as string;
      return /^v\d+$/.test(f) && it.items?.raw !== undefined ? `item[${f.slice(1)}]` : `item.${f}`;
    }
    const up = ctx.task!.inputs?.parameters?.[k];
    if (!up) throw new Error(`input ${k} is not supplied by the task running the DAG`);
    return trace(ctx.parent, { ...up, ...(spec.parameterExpressionSelector ? { parameterExpressionSelector: spec.parameterExpressionSelector } : {}) });
  };
  const traceOutput = (task: Obj | undefined, key: string): string => {
    if (!task) throw new Error(`output ${key} of an unknown task`);
    const c = compOf(task);
    if (c.executorLabel !== undefined) {
      const step = names.resolve(task.taskInfo.name);
      return key === "Output" ? `result:${step}` : `output:${step}.${key}`;
    }
    const sel = c.dag.outputs?.parameters?.[key]?.valueFromParameter;
    if (!sel) throw new Error(`DAG output ${key} missing`);
    return traceOutput(c.dag.tasks[sel.producerSubtask], sel.outputParameterKey);
  };

  const steps: Record<string, NStep> = {};
  const mainSteps: string[] = [];
  const shelters = new Set<string>();
  const raw = new Map<string, { deps: string[]; exit: boolean }>();

  const readStep = (ctx: Ctx, name: string, outer: Obj, exit: boolean) => {
    const step = names.resolve(name);
    let fanout: string | null = null;
    let hasCondition = false;
    const reads = new Set<string>();
    const condReads = new Set<string>();
    let here = ctx;
    let task = outer;
    const readCondition = (at: Ctx, t: Obj) => {
      if (!t.triggerPolicy?.condition) return;
      hasCondition = true;
      for (const m of (t.triggerPolicy.condition as string).matchAll(/inputs\.parameter_values\['([^']*)'\]/g)) {
        const spec = t.inputs?.parameters?.[m[1]!];
        if (!spec) throw new Error(`${name}: condition reads ${m[1]}, not an input of its task`);
        const key = trace(at, spec);
        if (key) condReads.add(key);
      }
    };
    for (;;) {
      const c = compOf(task);
      if (c.executorLabel !== undefined) break;
      const inner = Object.keys(c.dag?.tasks ?? {});
      if (inner.length !== 1 || inner[0] !== name) throw new Error(`task ${name} runs a DAG that is not its wrapper`);
      const it = task.parameterIterator;
      if (it) {
        if (it.items.raw !== undefined) fanout = `items:${(JSON.parse(it.items.raw) as unknown[]).length}`;
        else {
          const key = trace(here, task.inputs.parameters[it.items.inputParameter]);
          fanout = `from:${key}`;
          if (key) reads.add(key);
        }
      }
      readCondition(here, task);
      here = { comp: c, parent: here, task };
      task = c.dag.tasks[name];
    }
    readCondition(here, task);
    // a DAG task succeeds when the task inside was skipped; a task skipped itself blocks its dependents
    if (task !== outer && !outer.triggerPolicy?.condition) shelters.add(step);
    const exec = spec.deploymentSpec.executors[compOf(task).executorLabel];
    const texts = [...(exec.container.command ?? []), ...(exec.container.args ?? []), ...(exec.container.env ?? []).map((e: Obj) => e.value)];
    for (const t of texts) {
      for (const m of String(t).matchAll(/\{\{\$\.inputs\.parameters\['([^']*)'\]\}\}/g)) {
        const spec = task.inputs?.parameters?.[m[1]!];
        if (!spec) throw new Error(`${name}: placeholder for undeclared input ${m[1]}`);
        const key = trace(here, spec);
        if (key) reads.add(key);
      }
    }
    for (const k of condReads) reads.add(k);
    raw.set(step, { deps: outer.dependentTasks ?? [], exit });
    if (!exit) mainSteps.push(step);
    steps[step] = {
      scope: "main",
      after: [],
      reads: [...reads].filter((k) => /^(param|result|output):/.test(k)).sort(),
      fanout,
      hasCondition,
      conditionReads: [...condReads].sort(),
    };
  };

  const walk = (ctx: Ctx, exit: boolean) => {
    for (const [name, t] of Object.entries<Obj>(ctx.comp.dag.tasks)) {
      const c = compOf(t);
      const inner = Object.keys(c.dag?.tasks ?? {});
      if (c.dag && !(inner.length === 1 && inner[0] === name)) {
        walk({ comp: c, parent: ctx, task: t }, exit || t.triggerPolicy?.strategy === "ALL_UPSTREAM_TASKS_COMPLETED");
      } else readStep(ctx, name, t, exit);
    }
  };
  walk(rootCtx, false);

  for (const [step, r] of raw) {
    const deps = r.deps.filter((d) => names.tryResolve(d) !== undefined).map((d) => names.resolve(d));
    const formula: Formula = r.exit && !deps.length
      ? { kind: "const", value: true }
      : { kind: "and", of: deps.map((d) => ({ kind: "atom", step: d, classes: shelters.has(d) ? ["S", "K"] : ["S"] })) };
    steps[step] = { ...steps[step]!, after: [...new Set([...deps, ...(r.exit ? mainSteps : [])])].sort(), deps: formula };
  }
  return { params, steps };
}
