/**
 * The PipelineRun that starts the Pipeline: parameter values, timeouts, pod settings
 * (taskRunTemplate, taskRunSpecs) and workspace bindings. Without a run (pipelinerun=false, or
 * a reusable workflow) the settings only a run holds are named in a warning.
 */
import type { DiagnosticBag } from "../../src/diagnostics.js";
import type { ContainerStep, Loc, ScriptStep, WorkflowIR } from "../../src/ir/types.js";

type Json = Record<string, unknown>;

/** The workspace (a per-run claim) through which artifacts pass from step to step. */
export const ARTIFACT_WS = "couler-artifacts";

/** Seconds as a Go duration (`1h2m3s`). */
export function durationText(seconds: number): string {
  let s = seconds;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  const sec = Math.round(s * 1000) / 1000;
  const out = `${h ? `${h}h` : ""}${m ? `${m}m` : ""}${sec || (!h && !m) ? `${sec}s` : ""}`;
  return out;
}

export interface RunInput {
  readonly wf: WorkflowIR;
  readonly options: Readonly<Record<string, string>>;
  readonly diag: DiagnosticBag;
  readonly tasks: readonly { readonly name: string; readonly step: ContainerStep | ScriptStep }[];
  readonly usesArtifacts: boolean;
  readonly withRun: boolean;
  readonly pipelineName: string;
  readonly arrayParams: ReadonlySet<string>;
  readonly arrayDefault: (name: string, text: string, loc: Loc) => string[];
  readonly metadata: Json;
}

export function buildPipelineRun(o: RunInput): Json | undefined {
  const wf = o.wf;
  const c = wf.config;
  const podTemplate: Json = {};
  if (c.nodeSelector) podTemplate.nodeSelector = { ...c.nodeSelector };
  if (c.tolerations?.length) podTemplate.tolerations = c.tolerations.map((t) => ({ ...t }));
  if (c.affinity) podTemplate.affinity = { ...c.affinity };
  if (c.securityContext) podTemplate.securityContext = { ...c.securityContext };
  if (c.imagePullSecrets?.length) podTemplate.imagePullSecrets = c.imagePullSecrets.map((name) => ({ name }));
  if (c.dnsPolicy) podTemplate.dnsPolicy = c.dnsPolicy;
  if (c.dnsConfig) podTemplate.dnsConfig = { ...c.dnsConfig };
  const taskRunSpecs: Json[] = [];
  for (const t of o.tasks) {
    const s = t.step;
    const pt: Json = {};
    if (s.nodeSelector) pt.nodeSelector = { ...s.nodeSelector };
    if (s.tolerations?.length) pt.tolerations = s.tolerations.map((x) => ({ ...x }));
    if (s.affinity) pt.affinity = { ...s.affinity };
    if (Object.keys(pt).length) taskRunSpecs.push({ pipelineTaskName: t.name, podTemplate: pt });
  }
  const workspaces = (c.volumes ?? []).map((v): Json => {
    if (v.kind === "pvc") return { name: v.name, persistentVolumeClaim: { claimName: v.claimName, ...(v.readOnly ? { readOnly: true } : {}) } };
    if (v.kind === "emptyDir") {
      const e: Json = {};
      if (v.medium) e.medium = v.medium;
      if (v.sizeLimit) e.sizeLimit = v.sizeLimit;
      return { name: v.name, emptyDir: e };
    }
    const spec: Json = { accessModes: [...v.accessModes], resources: { requests: { storage: v.size } } };
    if (v.storageClass !== undefined) spec.storageClassName = v.storageClass;
    return { name: v.name, volumeClaimTemplate: { spec } };
  });

  if (o.usesArtifacts) {
    workspaces.push({
      name: ARTIFACT_WS,
      volumeClaimTemplate: { spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: o.options["artifact-size"] ?? "1Gi" } } } },
    });
  }
  if (!o.withRun) {
    const dropped: string[] = [];
    if (c.timeout !== undefined) dropped.push("the workflow timeout (spec.timeouts.pipeline)");
    if (c.serviceAccount !== undefined) dropped.push("the service account (spec.taskRunTemplate.serviceAccountName)");
    if (Object.keys(podTemplate).length) dropped.push("pod settings (spec.taskRunTemplate.podTemplate)");
    if (taskRunSpecs.length) dropped.push("per-step node selectors, tolerations or affinity (spec.taskRunSpecs)");
    if (workspaces.length) dropped.push("volume bindings (spec.workspaces)");
    if (dropped.length) {
      o.diag.warning(
        "dropped",
        `on target tekton these settings live in the PipelineRun, which is not emitted (${wf.config.reusable ? "reusable workflow" : "pipelinerun=false"}): ${dropped.join(", ")}; set them when you start the Pipeline`,
        wf.loc,
      );
    }
    return undefined;
  }
  const spec: Json = { pipelineRef: { name: o.pipelineName } };
  const values = wf.params.filter((p) => p.default !== undefined);
  if (values.length) {
    spec.params = values.map((p) => ({ name: p.name, value: o.arrayParams.has(p.name) ? o.arrayDefault(p.name, p.default!, p.loc) : p.default }));
  }
  if (c.timeout !== undefined) {
    if (wf.onExit?.length) {
      // `timeouts.pipeline` also ends finally: once it is reached the run is TimedOut and no
      // finally task starts (pipelinerunstate.go GetPipelineConditionStatus, HasTimedOut;
      // pipelinerunresolution.go skipBecausePipelineRunPipelineTimeoutReached). `timeouts.tasks`
      // stops only the tasks, and finally still runs, as the exit handler does after a timeout.
      spec.timeouts = { pipeline: "0s", tasks: durationText(c.timeout) };
      if (wf.onExit.some((s) => JSON.stringify(s.when ?? null).includes('"status"'))) {
        o.diag.warning(
          "workflow-timeout",
          "the workflow timeout stops the tasks (timeouts.tasks); when it falls between two tasks (none running), Tekton's $(tasks.status) reads Completed, not Failed, so an exit handler for success runs on target tekton, although the PipelineRun fails",
          wf.loc,
        );
      }
    } else spec.timeouts = { pipeline: durationText(c.timeout) };
  }
  const trt: Json = {};
  if (c.serviceAccount !== undefined) trt.serviceAccountName = c.serviceAccount;
  if (Object.keys(podTemplate).length) trt.podTemplate = podTemplate;
  if (Object.keys(trt).length) spec.taskRunTemplate = trt;
  if (taskRunSpecs.length) spec.taskRunSpecs = taskRunSpecs;
  if (workspaces.length) spec.workspaces = workspaces;
  return { apiVersion: "tekton.dev/v1", kind: "PipelineRun", metadata: o.metadata, spec };
}
