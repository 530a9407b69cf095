/**
 * Kubeflow Pipelines backend: the KFP v2 pipeline spec (`PipelineSpec`, schemaVersion 2.1.0),
 * which KFP 2.x and Vertex AI Pipelines run, one YAML file per workflow. Kubernetes settings
 * KFP keeps outside the spec (secrets as env, volumes, node selectors, tolerations, pull
 * secrets, timeouts) follow as a second document, the `PlatformSpec` exactly as the
 * kfp-kubernetes extension writes it. See README.md beside this file for the mapping and the
 * KFP sources it relies on.
 */
import type { Backend, CompileContext, OutputFile } from "../backend.js";
import type { Capabilities } from "../../src/ir/features.js";
import { allSteps } from "../../src/ir/graph.js";
import type { Loc, WorkflowIR } from "../../src/ir/types.js";
import { mangle, NameTable } from "../common/names.js";
import { toYaml } from "../common/yaml.js";
import { DagBuilder } from "./dag.js";
import { PIPELINE_NAME, TASK_NAME } from "./names.js";

const capabilities: Capabilities = {
  "container-step": "yes",
  "script-step": "yes",
  "resource-step": { unsupported: "a KFP pipeline has no step that creates a Kubernetes object and waits for a condition; run kubectl in a container step (with a service account allowed to create the object) instead" },
  "template-ref-step": { unsupported: "a template of an installed Argo WorkflowTemplate cannot be called from a KFP pipeline; write the step in the workflow (KFP reuses components, not Argo templates)" },
  "while-loop": { unsupported: "a KFP pipeline spec is a DAG without loops or recursion (the SDK's recursive graph components were removed in KFP v2); repeat inside one step, or fan out over a list (map)" },
  param: "yes",
  "step-result": "yes",
  "output-parameter": "yes",
  "resource-output": { unsupported: "KFP has no resource steps, so there is no created object to read outputs from" },
  env: "yes",
  "secret-env": "yes",
  "secret-namespace": { warn: "a pod reads secrets from its own namespace only: the secret's namespace is not written; run the pipeline in that namespace" },
  "declared-secret": { warn: "the Secret is referenced by name but not created (its values never enter the output): create it (kubectl create secret generic ...) in the run's namespace before starting the run" },
  resources: "yes",
  "step-timeout": "yes",
  retry: "yes",
  "retry-backoff": "yes",
  "image-pull-policy": "yes",
  "working-dir": "yes",
  "node-selector": "yes",
  "runs-on": { warn: "runner labels pick GitHub Actions runners; on Kubernetes a step's node is chosen with nodeSelector, so they are not written" },
  "status-dependency": { unsupported: "a KFP task runs when all its upstream tasks succeeded; the only other trigger is the exit handler's (ALL_UPSTREAM_TASKS_COMPLETED), so a step cannot wait for another's failure or skip: use setExitHandler, or handle the failure inside the step" },
  "depends-expression": { unsupported: "a KFP task's dependencies are a list of tasks that must all succeed; || and ! over them cannot be expressed" },
  condition: "yes",
  "loop-items": "yes",
  "loop-from": "yes",
  "loop-parallelism": "yes",
  "fan-in": "yes",
  "exit-handler": "yes",
  "workflow-status": { warn: "KFP hands the exit handler a PipelineTaskFinalStatus: conditions compare its state (Succeeded is SUCCEEDED, Failed and Error are FAILED), and as a value the step receives the status as JSON ({\"state\": \"SUCCEEDED\", ...}), not the bare word" },
  "workflow-name": "yes",
  "artifact-passing": "yes",
  "output-artifact": "yes",
  "artifact-store": { unsupported: "a KFP pipeline does not fetch from or upload to S3, GCS or OSS by itself; copy the files in the step (e.g. with the cloud's CLI image)" },
  "artifact-git": { unsupported: "a KFP pipeline does not check out Git repositories; clone in the step" },
  "artifact-http": { unsupported: "a KFP pipeline does not download input files; fetch the file in the step (curl or wget)" },
  volume: "yes",
  "volume-mount": "yes",
  tolerations: "yes",
  affinity: "yes",
  "security-context": "yes",
  sidecar: { unsupported: "a KFP executor runs one container (kfp-kubernetes adds init containers only); run the helper in the step's own container" },
  daemon: { unsupported: "a KFP task runs to completion; a server that keeps running beside later tasks cannot be expressed" },
  cache: { warn: "KFP keys its cache by the task's component and inputs, not by a key of your own: caching is enabled for the step, and the cache name, key and maximum age are not written" },
  cron: { unsupported: "a schedule is not part of a KFP pipeline spec: create a recurring run for the compiled pipeline (kfp Client.create_recurring_run, or the UI)" },
  "reusable-template": "yes",
  parallelism: { warn: "a KFP pipeline spec has no workflow-wide limit on running tasks: the limit is dropped (map parallelism is kept)" },
  "pod-gc": { warn: "KFP decides when executor pods are deleted (its Argo workflow's pod GC): pod deletion is not written" },
  "image-pull-secrets": "yes",
  dns: { unsupported: "kfp-kubernetes has no DNS settings for an executor's pod" },
  "workflow-timeout": "yes",
  "time-to-clean": "yes",
  "service-account": { warn: "a KFP run's service account is chosen when the run is created (the run's service_account), not in the pipeline spec: it is not written" },
  namespace: { warn: "a KFP run's namespace is chosen when the run is created (its experiment or profile), not in the pipeline spec: it is not written" },
  labels: { warn: "a KFP pipeline spec has no labels (a run's labels are set when it is created): they are not written" },
  annotations: { warn: "a KFP pipeline spec has no annotations: they are not written" },
};

export const SDK_VERSION = "couler-ts-0.1.0";

/** Keys sorted at every level (the SDK writes its YAML with sorted keys); lists keep their order. */
function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === "object") {
    return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]));
  }
  return v;
}

function compileKfp(wf: WorkflowIR, ctx: CompileContext): OutputFile[] {
  const error = (msg: string, loc: Loc) => ctx.diagnostics.error("unsupported", `${msg} (target kfp)`, loc);
  const names = new NameTable(TASK_NAME, ctx.diagnostics);
  for (const s of allSteps(wf)) names.add(s.name, s.loc);
  const pipelineName = new NameTable(PIPELINE_NAME, ctx.diagnostics).add(wf.name, wf.loc);
  const built = new DagBuilder(wf, (n) => names.get(n), error).build();
  const spec = {
    components: built.components,
    deploymentSpec: { executors: built.executors },
    pipelineInfo: { name: pipelineName, ...(pipelineName !== wf.name ? { displayName: wf.name } : {}) },
    root: built.root,
    schemaVersion: "2.1.0",
    sdkVersion: SDK_VERSION,
  };
  const c = wf.config;
  const pipelineConfig = {
    ...(c.timeout !== undefined ? { activeDeadlineSeconds: Math.ceil(c.timeout) } : {}),
    ...(c.timeToClean !== undefined ? { resourceTtlOnCompletion: Math.ceil(c.timeToClean) } : {}),
  };
  const docs: unknown[] = [spec];
  if (Object.keys(built.platform).length || Object.keys(pipelineConfig).length) {
    const kubernetes = {
      ...(Object.keys(built.platform).length ? { deploymentSpec: { executors: built.platform } } : {}),
      ...(Object.keys(pipelineConfig).length ? { pipelineConfig } : {}),
    };
    docs.push({ platforms: { kubernetes } });
  }
  const header = `# PIPELINE DEFINITION\n# Name: ${pipelineName}\n`;
  const content = header + docs.map((d) => toYaml(sortKeys(d))).join("---\n");
  return [{ path: `${mangle(wf.name, PIPELINE_NAME)}.yaml`, content }];
}

export const kfpBackend: Backend = {
  name: "kfp",
  description: "Kubeflow Pipelines: a KFP v2 pipeline spec (PipelineSpec 2.1.0, for KFP 2.x and Vertex AI Pipelines), plus the kfp-kubernetes platform spec",
  capabilities,
  options: {},
  compile: compileKfp,
  joinForStdout(files: readonly OutputFile[]): string {
    return files.map((f) => f.content).join("---\n");
  },
};
