/**
 * What the Tekton backend does with each IR feature: lowers it (`yes`), lowers it with a
 * warning naming what is dropped, or refuses it with the reason and what to do instead.
 */
import type { Capabilities } from "../../src/ir/features.js";

export const tektonCapabilities: Capabilities = {
  "container-step": "yes",
  "script-step": "yes",
  "resource-step": {
    unsupported:
      "Tekton has no step that creates a Kubernetes object and waits for a condition; run kubectl in a container step (with a service account allowed to create the object) instead",
  },
  "template-ref-step": {
    unsupported:
      "a template of an installed Argo WorkflowTemplate has no Tekton counterpart; write the step in the workflow, or call an installed Tekton Task from a hand-written Pipeline",
  },
  "while-loop": {
    unsupported: "a Tekton Pipeline is a DAG without loops or recursion; repeat inside one step's program, or start a new PipelineRun from a finally task",
  },
  param: "yes",
  "step-result": "yes",
  "output-parameter": "yes",
  "resource-output": { unsupported: "Tekton has no resource steps, so there is no created object to read outputs from" },
  env: "yes",
  "secret-env": "yes",
  "secret-namespace": {
    warn: "a pod reads secrets from its own namespace only: the secret's namespace is not written into the manifest; run the PipelineRun in that namespace",
  },
  "declared-secret": {
    warn: "the Secret is referenced by name but not created (its values never enter the output): create it (kubectl create secret generic ...) before starting the PipelineRun",
  },
  resources: "yes",
  "step-timeout": "yes",
  retry: "yes",
  "retry-backoff": { warn: "Tekton retries a failed task at once: the backoff (delay, factor, cap) is dropped, the retry count is kept" },
  "image-pull-policy": "yes",
  "working-dir": "yes",
  "node-selector": "yes",
  "runs-on": { warn: "runner labels pick GitHub Actions runners; on Kubernetes a step's node is chosen with nodeSelector, so they are not written" },
  "status-dependency": "yes",
  "depends-expression": "yes",
  condition: "yes",
  "loop-items": "yes",
  "loop-from": "yes",
  "loop-parallelism": {
    warn: "a Tekton matrix has no per-task concurrency limit: all instances may run at once (limit them cluster-wide with a ResourceQuota or a LimitRange)",
  },
  "fan-in": "yes",
  "exit-handler": "yes",
  "workflow-status": "yes",
  "workflow-name": "yes",
  "artifact-passing": "yes",
  "output-artifact": {
    warn: "Tekton has no artifact store: the artifact is kept on the run's own volume (the couler-artifacts workspace, a claim the PipelineRun creates), which lives only as long as the PipelineRun",
  },
  "artifact-store": {
    unsupported: "Tekton does not fetch from or upload to S3, GCS or OSS by itself; copy the files in the step (e.g. with the cloud's CLI image), or use a volume",
  },
  "artifact-git": {
    unsupported: "Tekton does not check out Git repositories by itself; clone in the step (or use the catalog's git-clone Task in a hand-written Pipeline)",
  },
  "artifact-http": { unsupported: "Tekton does not download input files by itself; fetch the file in the step (curl or wget)" },
  volume: "yes",
  "volume-mount": "yes",
  tolerations: "yes",
  affinity: "yes",
  "security-context": "yes",
  sidecar: "yes",
  daemon: {
    unsupported: "Tekton has no daemon tasks that outlive their own TaskRun; run the server as a sidecar of the step that uses it",
  },
  cache: { unsupported: "Tekton has no memoization of task results; every run executes every task" },
  cron: {
    unsupported:
      "Tekton Pipelines has no schedule: create the PipelineRun from a Kubernetes CronJob or a Tekton Triggers EventListener fed by a cron source",
  },
  "reusable-template": "yes",
  parallelism: {
    warn: "Tekton has no limit on how many tasks of a PipelineRun run at once: the limit is dropped (bound it with a ResourceQuota on the namespace)",
  },
  "pod-gc": { warn: "Tekton keeps a TaskRun's pod until the TaskRun is deleted: pod deletion is dropped (prune finished runs with the Tekton pruner)" },
  "image-pull-secrets": "yes",
  dns: "yes",
  "workflow-timeout": "yes",
  "time-to-clean": {
    warn: "Tekton does not delete finished PipelineRuns by itself: the time to keep it is dropped (use the Tekton Operator's pruner or a cleanup CronJob)",
  },
  "service-account": "yes",
  namespace: "yes",
  labels: "yes",
  annotations: "yes",
};
