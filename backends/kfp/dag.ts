/**
 * The DAG shape of a KFP pipeline spec, and how values travel through it.
 *
 * - Each IR step is one task in its graph's DAG (root; with an exit handler, the main graph
 *   runs inside the `exit-handler-1` DAG and the exit steps inside `exit-handler-steps`).
 * - A step with a `when` carries the trigger condition on its own task, inside a DAG of its
 *   own (`comp-<t>--condition`; a fanned-out step's loop DAG serves). KFP skips a task whose
 *   condition is false, and its dependents (`<t>.Succeeded`) would then be omitted; but a DAG
 *   whose inner task was skipped succeeds, so a step after the wrapper still runs, which is the
 *   IR's "after" (the SDK's if/elif/else `condition-branches` DAG works the same way; see README).
 * - A fanned-out step runs inside a for-loop DAG (`comp-<t>--loop`) whose task carries the
 *   parameterIterator; its outputs leave the loop as LIST outputs of that DAG (dsl.Collected).
 * - A value crosses DAG borders as component inputs (`pipelinechannel--...`) going in, and as
 *   DAG outputs (valueFromParameter) coming out, each declared once.
 */
import { isPodStep, refsOfStep } from "../../src/ir/graph.js";
import type { Loc, Ref, Step, WorkflowIR } from "../../src/ir/types.js";
import { ARTIFACT_TYPE, buildExecutor } from "./executors.js";
import { EXIT_MAIN_TASK, EXIT_STEPS_TASK, STATUS_KEY, STDOUT_OUTPUT, channelKey, componentName, conditionComponent, executorLabel, loopComponent } from "./names.js";
import { celCondition } from "./values.js";

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

interface Dag {
  readonly id: string;
  readonly parent?: Dag;
  /** The task in the parent DAG that runs this DAG. */
  readonly task?: Json;
  readonly taskName?: string;
  readonly tasks: Record<string, Json>;
  readonly inputDefs: Map<string, Json>;
  readonly outputs: Map<string, { selector: Json; type: string }>;
  /** Artifacts passing through: inputs declared, outputs selected from a subtask. */
  readonly artInputDefs: Map<string, Json>;
  readonly artOutputs: Map<string, Json>;
  /** The step whose items this DAG iterates over. */
  readonly loopOf?: Step;
  readonly isExitSteps?: boolean;
}

export interface BuiltPipeline {
  readonly root: Json;
  readonly components: Record<string, Json>;
  readonly executors: Record<string, Json>;
  readonly platform: Record<string, Json>;
}

export class DagBuilder {
  private readonly dags: Dag[] = [];
  private readonly components: Record<string, Json> = {};
  private readonly executors: Record<string, Json> = {};
  private readonly platform: Record<string, Json> = {};
  /** Step name -> DAGs from the root to the one holding its executor task. */
  private readonly chains = new Map<string, Dag[]>();
  private readonly stdoutRead = new Set<string>();
  private readonly itemKeys = new Map<string, Map<string, string>>();
  private readonly exposed = new Map<string, string>();
  private readonly keyOwners = new Map<string, string>();

  constructor(
    private readonly wf: WorkflowIR,
    private readonly task: (step: string) => string,
    private readonly error: (msg: string, loc: Loc) => void,
  ) {}

  private newDag(id: string, parent?: Dag, task?: Json, taskName?: string, extra: Partial<Dag> = {}): Dag {
    const d: Dag = { id, tasks: {}, inputDefs: new Map(), outputs: new Map(), artInputDefs: new Map(), artOutputs: new Map(), ...(parent ? { parent } : {}), ...(task ? { task, taskName } : {}), ...extra };
    this.dags.push(d);
    return d;
  }

  build(): BuiltPipeline {
    const wf = this.wf;
    for (const s of [...wf.steps, ...(wf.onExit ?? [])]) {
      for (const r of [...refsOfStep(s)]) if (r.kind === "result") this.stdoutRead.add(r.step);
    }
    const root = this.newDag("root");
    let mainDag = root;
    let exitDag: Dag | undefined;
    if (wf.onExit?.length) {
      const mainTask: Json = { componentRef: { name: componentName(EXIT_MAIN_TASK) }, taskInfo: { name: EXIT_MAIN_TASK } };
      root.tasks[EXIT_MAIN_TASK] = mainTask;
      mainDag = this.newDag(componentName(EXIT_MAIN_TASK), root, mainTask, EXIT_MAIN_TASK);
      const exitTask: Json = {
        componentRef: { name: componentName(EXIT_STEPS_TASK) },
        dependentTasks: [EXIT_MAIN_TASK],
        taskInfo: { name: EXIT_STEPS_TASK },
        triggerPolicy: { strategy: "ALL_UPSTREAM_TASKS_COMPLETED" },
      };
      root.tasks[EXIT_STEPS_TASK] = exitTask;
      exitDag = this.newDag(componentName(EXIT_STEPS_TASK), root, exitTask, EXIT_STEPS_TASK, { isExitSteps: true });
    }
    // chains first: a step may read a step created after it only through its own graph, but placing all first keeps it simple
    const place = (steps: readonly Step[], d: Dag) => {
      for (const s of steps) this.placeStep(s, d);
    };
    place(wf.steps, mainDag);
    if (exitDag) place(wf.onExit!, exitDag);
    for (const s of [...wf.steps, ...(wf.onExit ?? [])]) this.fillStep(s);

    const rootSpec: Json = { dag: { tasks: root.tasks } };
    if (wf.params.length) {
      rootSpec.inputDefinitions = {
        parameters: Object.fromEntries(
          wf.params.map((p) => [
            p.name,
            {
              ...(p.default !== undefined ? { defaultValue: p.default, isOptional: true } : {}),
              ...(p.description !== undefined ? { description: p.description } : {}),
              parameterType: "STRING",
            },
          ]),
        ),
      };
    }
    for (const d of this.dags) {
      if (d === root) continue;
      const c: Json = { dag: { tasks: d.tasks } };
      if (d.outputs.size) {
        c.dag.outputs = { parameters: Object.fromEntries([...d.outputs].map(([k, o]) => [k, { valueFromParameter: o.selector }])) };
        c.outputDefinitions = { parameters: Object.fromEntries([...d.outputs].map(([k, o]) => [k, { parameterType: o.type }])) };
      }
      if (d.artOutputs.size) {
        c.dag.outputs = { ...(c.dag.outputs ?? {}), artifacts: Object.fromEntries([...d.artOutputs].map(([k, sel]) => [k, { artifactSelectors: [sel] }])) };
        c.outputDefinitions = { ...(c.outputDefinitions ?? {}), artifacts: Object.fromEntries([...d.artOutputs.keys()].map((k) => [k, { artifactType: ARTIFACT_TYPE }])) };
      }
      if (d.inputDefs.size || d.artInputDefs.size) {
        c.inputDefinitions = {
          ...(d.inputDefs.size ? { parameters: Object.fromEntries(d.inputDefs) } : {}),
          ...(d.artInputDefs.size ? { artifacts: Object.fromEntries(d.artInputDefs) } : {}),
        };
      }
      this.components[d.id] = c;
    }
    for (const d of this.dags) {
      for (const t of Object.values(d.tasks)) {
        if (t.dependentTasks) t.dependentTasks = [...new Set<string>(t.dependentTasks)].sort();
      }
    }
    return { root: rootSpec, components: this.components, executors: this.executors, platform: this.platform };
  }

  /** Create the step's task (and wrapper DAGs) in `d`; inputs are filled later. */
  private placeStep(s: Step, d: Dag): void {
    const t = this.task(s.name);
    const chain: Dag[] = [];
    for (let x: Dag | undefined = d; x; x = x.parent) chain.unshift(x);
    let here = d;
    const outer: Json = { taskInfo: { name: t } };
    const deps = s.depends ? [...new Set(refsOfDeps(s))].map((n) => this.task(n)) : [];
    if (deps.length) outer.dependentTasks = deps;
    d.tasks[t] = outer;
    let current = outer;
    if (s.loop) {
      current.componentRef = { name: loopComponent(t) };
      const loopDag = this.newDag(loopComponent(t), here, current, t, { loopOf: s });
      chain.push(loopDag);
      here = loopDag;
      if (s.loop.parallelism !== undefined) current.iteratorPolicy = { parallelismLimit: s.loop.parallelism };
      current = { taskInfo: { name: t } };
      here.tasks[t] = current;
    }
    if (s.when && !s.loop) {
      // the loop DAG already shelters a skipped task; otherwise a DAG of its own does
      current.componentRef = { name: conditionComponent(t) };
      const condDag = this.newDag(conditionComponent(t), here, current, t);
      chain.push(condDag);
      here = condDag;
      current = { taskInfo: { name: t } };
      here.tasks[t] = current;
    }
    current.componentRef = { name: componentName(t) };
    this.chains.set(s.name, chain);
  }

  private taskIn(d: Dag, s: Step): Json {
    return d.tasks[this.task(s.name)]!;
  }

  private fillStep(s: Step): void {
    const chain = this.chains.get(s.name)!;
    const t = this.task(s.name);
    // loop source and items
    if (s.loop) {
      const loopDag = chain.find((d) => d.loopOf === s)!;
      const loopTask = loopDag.task!;
      const itemKey = this.itemKey(s, undefined);
      loopDag.inputDefs.set(itemKey, { parameterType: "STRING" });
      if (s.loop.kind === "items") {
        const rows = s.loop.items.map((row) => (row.length === 1 ? row[0] : Object.fromEntries(row.map((v, i) => [`v${i}`, v]))));
        loopTask.parameterIterator = { itemInput: itemKey, items: { raw: JSON.stringify(rows) } };
      } else {
        const key = this.lift(loopDag, s.loop.source);
        loopTask.parameterIterator = { itemInput: itemKey, items: { inputParameter: key } };
      }
    }
    const inner = chain[chain.length - 1]!;
    const execTask = this.taskIn(inner, s);
    if (!isPodStep(s)) return; // refused by the capability table
    const inputs: Record<string, Json> = {};
    const inputDefs: Record<string, Json> = {};
    const artInputs: Record<string, Json> = {};
    const artInputDefs: Record<string, Json> = {};
    const useArtifact = (input: string, step: string, artifact: string): string => {
      artInputs[input] = this.ensureArtifact(inner, step, artifact, execTask, s);
      artInputDefs[input] = { artifactType: ARTIFACT_TYPE };
      return input;
    };
    const use = (r: Ref): string => {
      const key = this.keyFor(inner, r);
      if (!(key in inputs)) {
        inputs[key] = this.ensure(inner, r, execTask);
        inputDefs[key] = r.kind === "workflow" && r.field === "status" ? { isOptional: true, parameterType: "TASK_FINAL_STATUS" } : { parameterType: "STRING" };
      }
      return key;
    };
    const parts = buildExecutor(s, { use, useArtifact, stdoutRead: this.stdoutRead.has(s.name), config: this.wf.config, error: this.error });
    // The condition sits on the executor task itself, reading its own inputs: KFP skips a DAG
    // task whose condition is false (dependents would be omitted), but a DAG whose inner task
    // was skipped succeeds.
    if (s.when) execTask.triggerPolicy = { condition: celCondition(s.when, use, s.loc, this.error) };
    if (Object.keys(inputs).length || Object.keys(artInputs).length) {
      execTask.inputs = {
        ...(Object.keys(artInputs).length ? { artifacts: artInputs } : {}),
        ...(Object.keys(inputs).length ? { parameters: inputs } : {}),
      };
    }
    execTask.cachingOptions = s.cache ? { enableCache: true } : {};
    if (s.retry) {
      const b = s.retry.backoff;
      execTask.retryPolicy = {
        maxRetryCount: s.retry.limit,
        ...(b ? { backoffDuration: `${b.duration}s` } : {}),
        ...(b?.factor !== undefined ? { backoffFactor: b.factor } : {}),
        ...(b?.maxDuration !== undefined ? { backoffMaxDuration: `${b.maxDuration}s` } : {}),
      };
    }
    const comp: Json = { executorLabel: executorLabel(t) };
    if (Object.keys(inputDefs).length || Object.keys(artInputDefs).length) {
      comp.inputDefinitions = {
        ...(Object.keys(artInputDefs).length ? { artifacts: artInputDefs } : {}),
        ...(Object.keys(inputDefs).length ? { parameters: inputDefs } : {}),
      };
    }
    if (Object.keys(parts.outputs).length || Object.keys(parts.artifacts).length) {
      comp.outputDefinitions = {
        ...(Object.keys(parts.artifacts).length ? { artifacts: parts.artifacts } : {}),
        ...(Object.keys(parts.outputs).length ? { parameters: parts.outputs } : {}),
      };
    }
    this.components[componentName(t)] = comp;
    this.executors[executorLabel(t)] = { container: parts.container };
    if (parts.platform) this.platform[executorLabel(t)] = parts.platform;
  }

  /** Item refs of a step get keys numbered in first-use order. */
  private itemKey(s: Step, r: Ref | undefined): string {
    const base = `${channelKey({ kind: "item" }, this.task, (_s, o) => o)}`.replace("loop-item", `${this.task(s.name)}-loop-item`);
    if (!r || (r.kind === "item" && r.field === undefined && r.index === undefined)) return base;
    const m = this.itemKeys.get(s.name) ?? new Map<string, string>();
    this.itemKeys.set(s.name, m);
    const k = JSON.stringify(r);
    if (!m.has(k)) m.set(k, `${base}-${m.size + 1}`);
    return m.get(k)!;
  }

  /** The key a reference travels under when it enters DAG `d` (or is used by a task in it). */
  private keyFor(d: Dag, r: Ref): string {
    if (r.kind === "item") {
      const owner = this.loopOwner(d);
      return owner ? this.itemKey(owner, r) : "pipelinechannel--loop-item";
    }
    const key = channelKey(r, this.task, (_s, o) => o);
    // a parameter named like a step's output (`x-Output`) would share its key: refuse, never merge
    const what = r.kind === "param" ? `parameter "${r.name}"` : r.kind === "result" ? `the result of step "${r.step}"` : r.kind === "output" ? `output "${r.output}" of step "${r.step}"` : `the workflow's ${r.field}`;
    const had = this.keyOwners.get(key);
    if (had === undefined) this.keyOwners.set(key, what);
    else if (had !== what && !this.keyOwners.has(`${key}\n${what}`)) {
      this.keyOwners.set(`${key}\n${what}`, what);
      this.error(`${what} and ${had} both travel as KFP input "${key}"; rename one of them`, this.wf.loc);
    }
    return key;
  }

  private loopOwner(d: Dag): Step | undefined {
    for (let x: Dag | undefined = d; x; x = x.parent) if (x.loopOf) return x.loopOf;
    return undefined;
  }

  /** Make `r` an input of DAG `d` (declared, and supplied by d's task); returns its key. */
  private lift(d: Dag, r: Ref): string {
    const key = this.keyFor(d, r);
    if (!d.inputDefs.has(key)) {
      d.inputDefs.set(key, r.kind === "workflow" && r.field === "status" ? { isOptional: true, parameterType: "TASK_FINAL_STATUS" } : { parameterType: "STRING" });
      const task = d.task!;
      task.inputs ??= {};
      task.inputs.parameters ??= {};
      task.inputs.parameters[key] = this.ensure(d.parent!, r, task);
    }
    return key;
  }

  /** How a task in DAG `d` (`consumer`) receives `r`. */
  private ensure(d: Dag, r: Ref, consumer: Json): Json {
    const key = this.keyFor(d, r);
    if (d.inputDefs.has(key)) return { componentInputParameter: key };
    switch (r.kind) {
      case "workflow":
        if (r.field === "name") return { runtimeValue: { constant: "{{$.pipeline_job_name}}" } };
        if (d.isExitSteps) {
          d.inputDefs.set(STATUS_KEY, { isOptional: true, parameterType: "TASK_FINAL_STATUS" });
          d.task!.inputs ??= {};
          d.task!.inputs.parameters ??= {};
          d.task!.inputs.parameters[STATUS_KEY] = { taskFinalStatus: { producerTask: EXIT_MAIN_TASK } };
          return { componentInputParameter: STATUS_KEY };
        }
        if (!d.parent) {
          this.error("the workflow status is read outside the exit handler", this.wf.loc);
          return { componentInputParameter: STATUS_KEY };
        }
        return { componentInputParameter: this.lift(d, r) };
      case "param":
        if (!d.parent) return { componentInputParameter: r.name };
        return { componentInputParameter: this.lift(d, r) };
      case "item": {
        if (d.loopOf) {
          const whole = this.itemKey(d.loopOf, undefined);
          if (r.field === undefined && r.index === undefined) return { componentInputParameter: whole };
          const sel = r.field !== undefined ? r.field : `v${r.index}`;
          const isZipped = d.loopOf.loop?.kind === "items" && (d.loopOf.loop.items[0]?.length ?? 1) > 1;
          if (r.field === undefined && !isZipped) return { componentInputParameter: whole };
          return { componentInputParameter: whole, parameterExpressionSelector: `parseJson(string_value)[${JSON.stringify(sel)}]` };
        }
        if (!d.parent) {
          this.error("a map item is used outside its map", this.wf.loc);
          return { componentInputParameter: key };
        }
        return { componentInputParameter: this.lift(d, r) };
      }
      case "result":
      case "output": {
        const chain = this.chains.get(r.step);
        const producer = [...this.wf.steps, ...(this.wf.onExit ?? [])].find((x) => x.name === r.step);
        if (!chain || !producer) return { componentInputParameter: key };
        const idx = chain.indexOf(d);
        const outName = r.kind === "result" ? STDOUT_OUTPUT : r.output;
        if (idx >= 0) {
          consumer.dependentTasks ??= [];
          if (idx === chain.length - 1) {
            consumer.dependentTasks.push(this.task(r.step));
            return { taskOutputParameter: { outputParameterKey: outName, producerTask: this.task(r.step) } };
          }
          const child = chain[idx + 1]!;
          consumer.dependentTasks.push(child.taskName!);
          return { taskOutputParameter: { outputParameterKey: this.expose(chain, idx + 1, r, outName), producerTask: child.taskName! } };
        }
        if (!d.parent) return { componentInputParameter: key };
        return { componentInputParameter: this.lift(d, r) };
      }
    }
  }

  /** Make the producer's output an output of DAG chain[i] (and of the DAGs inside it); returns its key there. */
  private expose(chain: Dag[], i: number, r: Ref, outName: string): string {
    const d = chain[i]!;
    const key = this.keyFor(d, r);
    const memo = `${d.id}\n${key}`;
    if (this.exposed.has(memo)) return this.exposed.get(memo)!;
    let selector: Json;
    let innerList = false;
    if (i === chain.length - 1) {
      selector = { outputParameterKey: outName, producerSubtask: this.task((r as { step: string }).step) };
    } else {
      const next = chain[i + 1]!;
      const innerKey = this.expose(chain, i + 1, r, outName);
      innerList = next.outputs.get(innerKey)?.type === "LIST";
      selector = { outputParameterKey: innerKey, producerSubtask: next.taskName! };
    }
    d.outputs.set(key, { selector, type: d.loopOf || innerList ? "LIST" : "STRING" });
    this.exposed.set(memo, key);
    return key;
  }
  /** How a task in DAG `d` (`consumer`) receives artifact `artifact` of step `step`: lifted and exposed as values are. */
  private ensureArtifact(d: Dag, step: string, artifact: string, consumer: Json, user: Step): Json {
    const chain = this.chains.get(step);
    const key = `pipelinechannel--${this.task(step)}--${artifact}`;
    if (!chain) return { componentInputArtifact: key };
    const idx = chain.indexOf(d);
    if (idx >= 0) {
      consumer.dependentTasks ??= [];
      if (idx === chain.length - 1) {
        consumer.dependentTasks.push(this.task(step));
        return { taskOutputArtifact: { outputArtifactKey: artifact, producerTask: this.task(step) } };
      }
      const child = chain[idx + 1]!;
      consumer.dependentTasks.push(child.taskName!);
      return { taskOutputArtifact: { outputArtifactKey: this.exposeArtifact(chain, idx + 1, step, artifact, key, user), producerTask: child.taskName! } };
    }
    if (!d.artInputDefs.has(key)) {
      d.artInputDefs.set(key, { artifactType: ARTIFACT_TYPE });
      const task = d.task!;
      task.inputs ??= {};
      task.inputs.artifacts ??= {};
      task.inputs.artifacts[key] = this.ensureArtifact(d.parent!, step, artifact, task, user);
    }
    return { componentInputArtifact: key };
  }

  private exposeArtifact(chain: Dag[], i: number, step: string, artifact: string, key: string, user: Step): string {
    const d = chain[i]!;
    if (d.loopOf) {
      this.error(`step "${user.name}" takes artifact "${artifact}" of the fanned-out step "${step}": this backend does not collect artifact lists out of a KFP loop`, user.loc);
    }
    if (!d.artOutputs.has(key)) {
      const inner = i === chain.length - 1 ? { outputArtifactKey: artifact, producerSubtask: this.task(step) } : { outputArtifactKey: this.exposeArtifact(chain, i + 1, step, artifact, key, user), producerSubtask: chain[i + 1]!.taskName! };
      d.artOutputs.set(key, inner);
    }
    return key;
  }
}

function refsOfDeps(s: Step): string[] {
  const out: string[] = [];
  const walk = (d: NonNullable<Step["depends"]>) => {
    if (d.kind === "on") out.push(d.step);
    else if (d.kind === "not") walk(d.of);
    else d.of.forEach(walk);
  };
  if (s.depends) walk(s.depends);
  return out;
}
