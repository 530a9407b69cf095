/**
 * A PipelineRun, replayed as Tekton v1's reconciler drives it (tektoncd/pipeline,
 * pkg/reconciler/pipelinerun/pipelinerun.go runNextSchedulableTask, and resources/):
 *
 * - Graph: a task's parents are its `runAfter` and every task whose results it reads in params,
 *   matrix or when (pkg/apis/pipeline/v1/pipeline_types.go PipelineTask.Deps; pkg/reconciler/
 *   pipeline/dag). A task is a candidate once every parent is done (dag.GetCandidateTasks over
 *   completedOrSkippedDAGTasks: succeeded, failed or skipped).
 * - Rounds: each reconcile schedules every candidate at once (DAGExecutionQueue). Here a round
 *   decides every candidate's skip first, then runs the rest one by one: a failure inside a
 *   round does not stop the round's other tasks, which had already started on a cluster.
 * - Skips, in the order of pipelinerunresolution.go `skip`: the run is stopping (a DAG task
 *   failed without `onError: continue`, pipelinerunstate.go IsStopping), when expressions false
 *   (after results are applied: ResolvePipelineTask applies the references it can resolve; an
 *   unresolved one stays literal text), a parent skipped for a reason other than its when
 *   expressions (skipBecauseParentTaskWasSkipped), a result reference whose task was skipped by
 *   its when (skipBecauseResultReferencesAreMissing), the pipeline or tasks timeout reached, an
 *   empty matrix array. A reference to a result a succeeded task did not produce fails
 *   validation: nothing new is scheduled and the run fails (CheckMissingResultReferences).
 * - Matrix: one TaskRun per combination (pkg/apis/pipeline/v1/matrix_types.go FanOut), named
 *   `<run>-<task>-<i>` (getNewRunNames); its results reach readers as arrays gathered from the
 *   TaskRuns sorted by name as strings (createResultsCacheMatrixedTaskRuns: 0, 1, 10, 11, 2, …).
 *   Succeeded when all succeeded, failed when any failed (isSuccessful, isFailure).
 * - Finally: once every DAG task is done (GetFinalTasks), every finally task, with
 *   `$(tasks.<t>.status)` Succeeded / Failed / None and `$(tasks.status)` Succeeded / Failed /
 *   Completed / None (GetPipelineTaskStatus); skipped for missing results first, then when
 *   (IsFinallySkipped). After the pipeline timeout nothing runs: the run is already TimedOut.
 * - The run's condition: pipelinerunstate.go GetPipelineConditionStatus.
 */
import { runTaskRun, seconds, type Obj, type TaskRunResult } from "./task-run.js";
import { applyAllArray, pass, resultRefs, type ParamValue, type Pass } from "./substitute.js";

export type SkipReason = "When Expressions evaluated to false" | "PipelineRun was stopping" | "Parent Tasks were skipped" | "Results were missing" | "PipelineRun timeout has been reached" | "PipelineRun Tasks timeout has been reached" | "Matrix Parameters have an empty array";

export interface TaskState {
  readonly name: string;
  readonly final: boolean;
  readonly pt: Obj;
  readonly spec: Obj;
  readonly parents: ReadonlySet<string>;
  done: boolean;
  skip?: SkipReason;
  /** The when expression that was false (for a when skip). */
  falseWhen?: Obj;
  /** A matrixed task skipped by its when: how many combinations it had (its params resolved). */
  skippedCombos?: number;
  runs: TaskRunResult[];
  validationFailed?: boolean;
  /** Results for readers: a matrixed task's are arrays in TaskRun-name order. */
  results: Record<string, ParamValue>;
}

export interface PipelineRunOutcome {
  readonly condition: { readonly status: "True" | "False"; readonly reason: string };
  readonly tasks: ReadonlyMap<string, TaskState>;
}

export interface PipelineRunInput {
  readonly pipeline: Obj;
  readonly tasks: ReadonlyMap<string, Obj>;
  readonly run: Obj | undefined;
  readonly runName: string;
  readonly env: Readonly<Record<string, string>>;
  readonly secrets: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /** Absolute paths a pipeline task's containers would not have (declared output files). */
  readonly fresh: (task: string) => readonly string[];
}

const isSucceeded = (t: TaskState) => t.runs.length > 0 && t.runs.every((r) => r.status === "succeeded");
const isFailed = (t: TaskState) => t.runs.some((r) => r.status === "failed");

/** The text fields of a pipeline task that may read results (params, matrix, when). */
function refTexts(pt: Obj): string[] {
  const out: string[] = [];
  const add = (v: unknown) => {
    if (typeof v === "string") out.push(v);
    else if (Array.isArray(v)) v.forEach(add);
  };
  for (const p of (pt.params ?? []) as Obj[]) add(p.value);
  for (const p of (pt.matrix?.params ?? []) as Obj[]) add(p.value);
  for (const i of (pt.matrix?.include ?? []) as Obj[]) for (const p of (i.params ?? []) as Obj[]) add(p.value);
  for (const w of (pt.when ?? []) as Obj[]) {
    add(w.input);
    add(w.values);
  }
  return out;
}

export async function runPipeline(input: PipelineRunInput): Promise<PipelineRunOutcome> {
  const spec = input.pipeline.spec ?? {};
  const state = new Map<string, TaskState>();
  const specOf = (pt: Obj): Obj => pt.taskSpec ?? input.tasks.get(pt.taskRef?.name)?.spec ?? {};
  for (const [final, list] of [[false, spec.tasks ?? []], [true, spec.finally ?? []]] as const) {
    for (const pt of list as Obj[]) {
      const parents = new Set<string>([...(final ? [] : ((pt.runAfter ?? []) as string[])), ...refTexts(pt).flatMap((t) => resultRefs(t).map((r) => r.task))]);
      state.set(pt.name, { name: pt.name, final, pt, spec: specOf(pt), parents, done: false, runs: [], results: {} });
    }
  }
  // Pipeline-level params: the PipelineRun's values over the Pipeline's defaults (apply.go ApplyParameters).
  const params = new Map<string, ParamValue>();
  for (const p of (spec.params ?? []) as Obj[]) if (p.default !== undefined) params.set(`params.${p.name}`, p.default);
  for (const p of (input.run?.spec?.params ?? []) as Obj[]) params.set(`params.${p.name}`, p.value);
  const contexts = pass([
    ["context.pipelineRun.name", input.runName],
    ["context.pipeline.name", String(input.pipeline.metadata?.name ?? "")],
    ["context.pipelineRun.namespace", "default"],
  ]);
  const start = Date.now();
  const timeouts = input.run?.spec?.timeouts ?? {};
  const at = (s: number | undefined) => (s !== undefined && s > 0 ? start + s * 1000 : undefined);
  const pipelineDeadline = at(seconds(timeouts.pipeline));
  const tasksDeadline = at(seconds(timeouts.tasks));
  const past = (d: number | undefined) => d !== undefined && Date.now() >= d;

  /** Results of finished tasks for readers (ResolveResultRefs); undefined when one is missing. */
  const resultPass = (t: TaskState): { pass: Pass; missing?: { task: TaskState; result: string } } => {
    const entries: [string, ParamValue][] = [];
    let missing: { task: TaskState; result: string } | undefined;
    for (const text of refTexts(t.pt)) {
      for (const r of resultRefs(text)) {
        const src = state.get(r.task);
        const v = src?.results[r.result];
        if (v === undefined) missing ??= { task: src!, result: r.result };
        else entries.push([`tasks.${r.task}.results.${r.result}`, v]);
      }
    }
    // ResolvePipelineTask: on any error no reference is applied (they stay literal).
    return missing ? { pass: pass([]), missing } : { pass: pass(entries) };
  };

  const statusPass = (): Pass => {
    // GetPipelineTaskStatus
    const entries: [string, string][] = [];
    let aggregate = "Succeeded";
    for (const t of state.values()) {
      if (t.final) continue;
      entries.push([`tasks.${t.name}.status`, isSucceeded(t) ? "Succeeded" : isFailed(t) ? "Failed" : "None"]);
      if (isFailed(t)) aggregate = "Failed";
      else if (t.skip && aggregate !== "Failed") aggregate = "Completed";
    }
    entries.push(["tasks.status", aggregate]);
    return pass(entries);
  };

  const resolve = (t: TaskState, extra: Pass[]): { passes: Pass[]; missing?: { task: TaskState; result: string } } => {
    const r = resultPass(t);
    const retries = pass([["context.pipelineTask.retries", String(t.pt.retries ?? 0)]]);
    return { passes: [pass(params), contexts, retries, r.pass, ...extra], ...(r.missing ? { missing: r.missing } : {}) };
  };

  /** when expressions after substitution (when_types.go AllowsExecution, isTrue: input in values). */
  const falseWhen = (t: TaskState, passes: Pass[]): Obj | undefined => {
    for (const w of (t.pt.when ?? []) as Obj[]) {
      const inputV = applyAllArray(String(w.input), passes);
      const inputText = typeof inputV === "string" ? inputV : inputV.join(" ");
      const values = ((w.values ?? []) as string[]).flatMap((v) => {
        const x = applyAllArray(v, passes);
        return typeof x === "string" ? [x] : x;
      });
      const inValues = values.includes(inputText);
      if ((w.operator === "notin") === inValues) return w;
    }
    return undefined;
  };

  const run = async (t: TaskState, passes: Pass[], deadline: number | undefined) => {
    const bound: Record<string, ParamValue> = {};
    for (const p of (t.pt.params ?? []) as Obj[]) bound[p.name] = applyAllArray(p.value, passes);
    const combos = fanOut(t.pt.matrix, passes);
    const timeout = seconds(t.pt.timeout);
    const runName = `${input.runName}-${t.name}`;
    const list = combos ?? [{}];
    for (const [i, combo] of list.entries()) {
      t.runs.push(
        await runTaskRun({
          name: combos && list.length > 1 ? `${runName}-${i}` : runName,
          taskName: t.name,
          spec: t.spec,
          params: { ...bound, ...combo },
          retries: Number(t.pt.retries ?? 0),
          ...(timeout !== undefined ? { timeout } : {}),
          ...(deadline !== undefined ? { deadline } : {}),
          env: input.env,
          secrets: input.secrets,
          fresh: input.fresh(t.name),
        }),
      );
    }
    if (combos) {
      // createResultsCacheMatrixedTaskRuns: TaskRuns sorted by name (as strings), results appended in that order.
      const named = t.runs.map((r, i) => ({ r, name: list.length > 1 ? `${runName}-${i}` : runName }));
      named.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      const agg: Record<string, string[]> = {};
      for (const { r } of named) for (const [k, v] of Object.entries(r.results)) (agg[k] ??= []).push(typeof v === "string" ? v : JSON.stringify(v));
      t.results = agg;
    } else if (t.runs[0]?.status === "succeeded") t.results = { ...t.runs[0].results };
    t.done = true;
  };

  // ---- the DAG
  let validationFailed = false;
  for (;;) {
    if (past(pipelineDeadline)) break;
    const dag = [...state.values()].filter((t) => !t.final);
    const ready = dag.filter((t) => !t.done && [...t.parents].every((p) => state.get(p)?.done));
    if (!ready.length) break;
    const stopping = validationFailed || dag.some((t) => t.done && isFailed(t) && t.pt.onError !== "continue");
    const toRun: { t: TaskState; passes: Pass[] }[] = [];
    for (const t of ready) {
      const r = resolve(t, []);
      const parentSkipped = [...t.parents].some((p) => {
        const s = state.get(p)!;
        return s.skip !== undefined && s.skip !== "When Expressions evaluated to false";
      });
      let skip: SkipReason | undefined;
      let fw: Obj | undefined;
      if (stopping) skip = "PipelineRun was stopping";
      else if ((fw = falseWhen(t, r.passes))) skip = "When Expressions evaluated to false";
      else if (parentSkipped) skip = "Parent Tasks were skipped";
      else if (r.missing && r.missing.task.skip === "When Expressions evaluated to false") skip = "Results were missing";
      else if (r.missing) {
        // CheckMissingResultReferences: validation fails; no new task is scheduled.
        t.validationFailed = true;
        validationFailed = true;
        t.done = true;
        continue;
      } else if (past(tasksDeadline)) skip = "PipelineRun Tasks timeout has been reached";
      else if (emptyMatrix(t.pt, r.passes)) skip = "Matrix Parameters have an empty array";
      if (skip) {
        t.skip = skip;
        if (fw) {
          t.falseWhen = fw;
          if (!r.missing) t.skippedCombos = fanOut(t.pt.matrix, r.passes)?.length;
        }
        t.done = true;
      } else toRun.push({ t, passes: r.passes });
    }
    const deadline = [pipelineDeadline, tasksDeadline].filter((x): x is number => x !== undefined).reduce<number | undefined>((a, b) => (a === undefined ? b : Math.min(a, b)), undefined);
    for (const { t, passes } of toRun) await run(t, passes, deadline);
  }
  const timedOut = past(pipelineDeadline);
  // Unfinished DAG tasks after the pipeline timeout: skipped (PipelineTimedOutSkip).
  for (const t of state.values()) {
    if (!t.final && !t.done) {
      t.skip = "PipelineRun timeout has been reached";
      t.done = true;
    }
  }

  // ---- finally (not after the pipeline timeout: the run is already TimedOut, GetPipelineConditionStatus)
  if (!timedOut) {
    const status = statusPass();
    for (const t of state.values()) {
      if (!t.final) continue;
      const r = resolve(t, [status]);
      let fw: Obj | undefined;
      if (r.missing) t.skip = "Results were missing";
      else if ((fw = falseWhen(t, r.passes))) {
        t.skip = "When Expressions evaluated to false";
        t.falseWhen = fw;
        t.skippedCombos = fanOut(t.pt.matrix, r.passes)?.length;
      } else if (past(pipelineDeadline)) t.skip = "PipelineRun timeout has been reached";
      else if (emptyMatrix(t.pt, r.passes)) t.skip = "Matrix Parameters have an empty array";
      else await run(t, r.passes, pipelineDeadline);
      t.done = true;
    }
  }
  return { condition: condition(state, timedOut), tasks: state };
}

/** matrix_types.go FanOut: `params` crossed (first param outermost), then each `include` as its own combination. */
function fanOut(matrix: Obj | undefined, passes: Pass[]): Record<string, string>[] | undefined {
  if (!matrix) return undefined;
  let combos: Record<string, string>[] = [];
  for (const p of (matrix.params ?? []) as Obj[]) {
    const v = applyAllArray(p.value, passes);
    const values = typeof v === "string" ? [v] : [...v];
    combos = combos.length === 0 ? values.map((x) => ({ [p.name]: x })) : combos.flatMap((c) => values.map((x) => ({ ...c, [p.name]: x })));
  }
  for (const inc of (matrix.include ?? []) as Obj[]) {
    const c: Record<string, string> = {};
    for (const p of (inc.params ?? []) as Obj[]) {
      const v = applyAllArray(p.value, passes);
      c[p.name] = typeof v === "string" ? v : v.join(",");
    }
    combos.push(c);
  }
  return combos;
}

function emptyMatrix(pt: Obj, passes: Pass[]): boolean {
  return ((pt.matrix?.params ?? []) as Obj[]).some((p) => {
    const v = applyAllArray(p.value, passes);
    return typeof v !== "string" && v.length === 0;
  });
}

/** pipelinerunstate.go GetPipelineConditionStatus (getPipelineTasksCount). */
function condition(state: ReadonlyMap<string, TaskState>, timedOut: boolean): PipelineRunOutcome["condition"] {
  if (timedOut) return { status: "False", reason: "PipelineRunTimeout" };
  let failed = 0;
  let skipped = 0;
  let skippedForTimeout = 0;
  let validation = 0;
  for (const t of state.values()) {
    if (isSucceeded(t)) continue;
    if (isFailed(t)) {
      if (t.pt.onError !== "continue") failed++;
    } else if (t.validationFailed) validation++;
    else if (t.skip) {
      skipped++;
      if (t.skip === "PipelineRun timeout has been reached" || t.skip === "PipelineRun Tasks timeout has been reached") skippedForTimeout++;
    }
  }
  if (validation > 0) return { status: "False", reason: "PipelineValidationFailed" };
  if (failed > 0 || skippedForTimeout > 0) return { status: "False", reason: "Failed" };
  return { status: "True", reason: skipped > 0 ? "Completed" : "Succeeded" };
}
