/**
 * The Tekton replay: runs the emitted Pipeline, Tasks and PipelineRun as Tekton v1 does
 * (./pipeline-run.ts, ./task-run.ts) and maps the run back to IR steps (a `RunOutcome`).
 *
 * Mapping (ours, not Tekton's): a pipeline task is the IR step its name resolves to (helper tasks
 * such as `<step>-when` are not steps); the steps of a sequential exit handler are the containers
 * of one finally Task. A TaskRun that succeeded is `succeeded` (a matrix: per item, in combination
 * order), one that failed `failed`; a task skipped because its own condition was false is
 * `skipped` (a matrix: every combination skipped); skipped for any other reason (a dependency guard false, the run stopping, a parent
 * skipped, missing results, timeouts) it is `omitted`: it did not run because of something before
 * it. A dependency guard is a when expression on `$(tasks.<t>.status)` or on a task's
 * `couler-outcome` result. The run's condition True is `Succeeded`, False `Failed`.
 * A step's `result` is its stdout result when the Task keeps one, else its container's log
 * (stdout without its final newline); declared outputs are the results the backend describes as
 * `output <name> of step <step>`.
 */
import YAML from "yaml";
import type { OutputFile } from "../../../backends/backend.js";
import { allSteps } from "../../../src/ir/graph.js";
import type { WorkflowIR } from "../../../src/ir/types.js";
import { irStepNames, NameResolver } from "../../readback/neutral-graph.js";
import type { ItemOutcome, KnownDifference, Replay, ReplayContext, RunOutcome, StepOutcome } from "../outcome.js";
import { runPipeline, type TaskState } from "./pipeline-run.js";
import type { Obj, StepRun, TaskRunResult } from "./task-run.js";

/** The generated suffix of the PipelineRun's name (`generateName`), fixed for repeatable runs. */
const RUN_SUFFIX = "x7k2q";

const GUARD = /^\$\(tasks\.[^.]+\.(status|results\.couler-outcome)\)$/;

export const TEKTON_KNOWN: readonly KnownDifference[] = [
  {
    match: /^(workflow|step "[^"]*"|exit step "[^"]*")(\[\d+\])?( output \S+)?: .* by couler run, .* on tekton$/,
    warning: /reads a value of step .* which may have been skipped, omitted or have failed/,
    why: "a reader of a value that does not exist fails in couler run; Tekton skips it (pipelinerunresolution.go skipBecauseResultReferencesAreMissing, and a when over an unresolved reference is false), and what follows differs with it",
  },
  {
    match: /^workflow: Error by couler run, Failed on tekton$/,
    warning: /Tekton has no Error status/,
    why: "a TaskRun that could not run fails like any other (pipelinerunstate.go GetPipelineConditionStatus knows Succeeded, Completed, Failed, Cancelled, TimedOut)",
  },
  {
    match: /^(workflow|step "[^"]*"|exit step "[^"]*"): \w+ by couler run, \w+ on tekton$/,
    warning: /is handled by a step that runs in Tekton's finally section|has a timeout and a handled failure/,
    why: "a handled failure whose handlers run in finally (or that times out) still fails the PipelineRun",
  },
  {
    match: /: succeeded by couler run, omitted on tekton$/,
    warning: /fans out over a list known only at run time: when it is empty/,
    why: "an empty matrix array skips the task, and a task skipped for another reason than its when skips the tasks after it (pipelinerunresolution.go skipBecauseEmptyArrayInMatrixParams, skipBecauseParentTaskWasSkipped)",
  },
  {
    match: /^(workflow|step "[^"]*"|exit step "[^"]*"): \w+ by couler run, \w+ on tekton$/,
    warning: /has a condition and a handled failure/,
    why: "the steps after a skipped observed task read its missing outcome result and are skipped (pipelinerunresolution.go skipBecauseResultReferencesAreMissing)",
  },
  {
    match: /: (succeeded|failed|skipped) by couler run, omitted on tekton/,
    warning: /stops starting new tasks once a task fails/,
    why: "a failed task stops the PipelineRun from starting any new task (pipelinerunstate.go IsStopping); couler run still runs the steps that do not depend on the failure",
  },
  {
    match: /^exit step "[^"]*"(\[\d+\])? output \S+: ".*Error.*" by couler run, ".*Failed.*" on tekton$/,
    warning: /reads the workflow status as text.*Tekton has no Error/,
    why: "Tekton has no Error status: $(tasks.status) is Failed when a task failed, for any reason (pipelinerunstate.go GetPipelineTaskStatus)",
  },
  {
    match: /output .*: ".*" by couler run, ".*" on tekton/,
    warning: /reads the workflow name.*PipelineRun's generated name/,
    why: "$(context.pipelineRun.name) is the run's generated name (<workflow>-xxxxx), couler run gives the workflow's name",
  },
];

function resultOf(spec: Obj, run: TaskRunResult, container: StepRun | undefined, stepName: string, ir: WorkflowIR): Record<string, string> {
  const out: Record<string, string> = {};
  const irStep = allSteps(ir).find((s) => s.name === stepName);
  for (const decl of (spec.results ?? []) as Obj[]) {
    const v = run.results[decl.name];
    if (typeof v !== "string") continue;
    const d = String(decl.description ?? "");
    if (d === `standard output of step ${stepName}`) out.result = v;
    const m = /^output (.*) of step (.*)$/.exec(d);
    if (m && m[2] === stepName) out[m[1]!] = v;
  }
  if (out.result === undefined && container) out.result = container.stdout.endsWith("\n") ? container.stdout.slice(0, -1) : container.stdout;
  // Only what the IR step declares (couler run records `result` and declared outputs).
  const keep = new Set(["result", ...(irStep?.outputs ?? []).map((o) => o.name)]);
  return Object.fromEntries(Object.entries(out).filter(([k]) => keep.has(k)));
}

function notRun(t: TaskState): "skipped" | "omitted" {
  return t.skip === "When Expressions evaluated to false" && t.falseWhen && !GUARD.test(String(t.falseWhen.input)) ? "skipped" : "omitted";
}

/** Secret values shown as `***`, as couler run shows every output (src/run/inputs.ts maskSecrets). */
function mask(outputs: Record<string, string>, secrets: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(outputs)) out[k] = secrets.reduce((t, x) => (x ? t.split(x).join("***") : t), v);
  return out;
}

function outcomeOf(t: TaskState, stepName: string, containerIndex: number | undefined, ir: WorkflowIR, secrets: readonly string[]): StepOutcome {
  if (!t.runs.length) {
    const status = notRun(t);
    // A matrix skipped by its own when: Tekton evaluates the when once for the pipeline task
    // and creates no TaskRun (pipelinerunresolution.go skipBecauseWhenExpressionsEvaluatedToFalse;
    // pipelinerun.go runNextSchedulableTask fans out only tasks it does not skip). The when
    // cannot read the item, so each combination is skipped by that same condition: one skipped
    // item per combination, as couler run records a map whose condition is false.
    if (status === "skipped" && t.skippedCombos) return { status, items: Array.from({ length: t.skippedCombos }, () => ({ status: "skipped" as const })) };
    return { status };
  }
  const one = (run: TaskRunResult): ItemOutcome => {
    const container = containerIndex !== undefined ? run.steps[containerIndex] : (run.steps.find((s) => s.name === "main") ?? run.steps[0]);
    let status: ItemOutcome["status"];
    if (containerIndex !== undefined) status = container?.status === "succeeded" ? "succeeded" : container?.status === "failed" ? "failed" : "omitted";
    // A step with `onError: continue` that failed: the TaskRun goes on, the step's own exit code says it failed.
    else status = run.status === "failed" || container?.status === "failed" ? "failed" : "succeeded";
    if (status !== "succeeded") return { status };
    const outputs = mask(resultOf(t.spec, run, container, stepName, ir), secrets);
    return { status, ...(Object.keys(outputs).length ? { outputs } : {}) };
  };
  if (t.pt.matrix) {
    const items = t.runs.map(one);
    return { status: items.some((i) => i.status === "failed") ? "failed" : "succeeded", items };
  }
  return one(t.runs[0]!);
}

async function replayTekton(files: readonly OutputFile[], ir: WorkflowIR, ctx: ReplayContext): Promise<RunOutcome> {
  const docs = files.flatMap((f) => YAML.parseAllDocuments(f.content).map((d) => d.toJS() as Obj));
  const pipeline = docs.find((d) => d?.kind === "Pipeline");
  if (!pipeline) throw new Error("no Pipeline document");
  const tasks = new Map<string, Obj>(docs.filter((d) => d?.kind === "Task").map((d) => [d.metadata.name, d]));
  let run = docs.find((d) => d?.kind === "PipelineRun");
  if (!run) {
    // No PipelineRun emitted (reusable): start it with the parameter values, as `tkn pipeline start` would.
    const kinds = new Map(((pipeline.spec.params ?? []) as Obj[]).map((p) => [p.name, p.type]));
    run = { spec: { params: Object.entries(ctx.params).map(([name, v]) => ({ name, value: kinds.get(name) === "array" ? JSON.parse(v) : v })) } };
  }
  const runName = run.metadata?.name ?? `${run.metadata?.generateName ?? `${pipeline.metadata.name}-`}${RUN_SUFFIX}`;
  const names = new NameResolver(irStepNames(ir));
  const stepsOfTask = (task: string) => {
    const n = names.tryResolve(task);
    return n === undefined ? [] : [n];
  };
  const irByName = new Map(allSteps(ir).map((s) => [s.name, s]));
  const outputPaths = (stepName: string) => {
    const s = irByName.get(stepName);
    return s && (s.kind === "container" || s.kind === "script") ? (s.outputs ?? []).flatMap((o) => (o.path !== undefined ? [o.path] : [])) : [];
  };
  const result = await runPipeline({
    pipeline,
    tasks,
    run,
    runName,
    env: ctx.env,
    secrets: ctx.secrets,
    fresh: (task) => {
      const t = [...(pipeline.spec.tasks ?? []), ...(pipeline.spec.finally ?? [])].find((x: Obj) => x.name === task);
      const spec = t?.taskSpec ?? tasks.get(t?.taskRef?.name)?.spec ?? {};
      const containerSteps = ((spec.steps ?? []) as Obj[]).flatMap((s) => stepsOfTask(s.name));
      return [...stepsOfTask(task), ...containerSteps].flatMap(outputPaths);
    },
  });

  const secretValues = Object.values(ctx.secrets).flatMap((m) => Object.values(m));
  const steps: Record<string, StepOutcome> = {};
  const onExit: Record<string, StepOutcome> = {};
  const exitNames = new Set((ir.onExit ?? []).map((s) => s.name));
  for (const t of result.tasks.values()) {
    const stepName = names.tryResolve(t.name);
    if (stepName === undefined) continue; // a helper task
    const containers = (t.spec.steps ?? []) as Obj[];
    const chain = containers.length > 1 && containers.every((c) => names.tryResolve(c.name) !== undefined) && containers.some((c) => c.name !== "main");
    const place = (n: string, o: StepOutcome) => ((exitNames.has(n) ? onExit : steps)[n] = o);
    if (chain) containers.forEach((c, i) => place(names.resolve(c.name), outcomeOf(t, names.resolve(c.name), i, ir, secretValues)));
    else place(stepName, outcomeOf(t, stepName, undefined, ir, secretValues));
  }
  return { status: result.condition.status === "True" ? "Succeeded" : "Failed", steps, ...(Object.keys(onExit).length ? { onExit } : {}) };
}

/** The Tekton replay for one layout (`tasks=embedded` or `tasks=separate`). */
export function tektonReplay(options?: Readonly<Record<string, string>>): Replay {
  return { target: "tekton", ...(options ? { options } : {}), run: replayTekton, knownDifferences: TEKTON_KNOWN };
}
