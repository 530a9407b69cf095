/**
 * What a local run cannot honour, decided per IR feature like a backend's capabilities,
 * so nothing is dropped silently: `couler run` prints each skipped feature once, before
 * the run starts, and the run record lists them.
 */
import { FEATURES, featuresOf, type Feature } from "../ir/features.js";
import type { WorkflowIR } from "../ir/types.js";

/**
 * For every feature: `"yes"` (honoured), or why local execution skips it — `host` with
 * --no-container, `container` with docker/podman (a mode without a reason honours it). A
 * full record, like a backend's capabilities, so a new feature cannot be dropped silently.
 */
const SKIPPED: { readonly [F in Feature]: "yes" | { readonly host?: string; readonly container?: string } } = {
  "container-step": "yes",
  "script-step": "yes",
  "while-loop": "yes",
  param: "yes",
  "step-result": "yes",
  "output-parameter": "yes",
  env: "yes",
  "secret-env": "yes",
  "declared-secret": "yes",
  "step-timeout": "yes",
  retry: "yes",
  "retry-backoff": "yes",
  "working-dir": "yes",
  "status-dependency": "yes",
  "depends-expression": "yes",
  condition: "yes",
  "loop-items": "yes",
  "loop-from": "yes",
  "loop-parallelism": "yes",
  "fan-in": "yes",
  "exit-handler": "yes",
  "workflow-status": "yes",
  "workflow-name": "yes",
  daemon: "yes",
  parallelism: "yes",
  "workflow-timeout": "yes",
  "resource-step": {
    host: "Kubernetes resource steps need a cluster: each one is marked failed (errored) without running",
    container: "Kubernetes resource steps need a cluster: each one is marked failed (errored) without running",
  },
  "template-ref-step": {
    host: "templates of installed workflow templates live on the cluster: each call is marked failed (errored) without running",
    container: "templates of installed workflow templates live on the cluster: each call is marked failed (errored) without running",
  },
  "resource-output": { host: "no Kubernetes object to read from", container: "no Kubernetes object to read from" },
  "secret-namespace": { host: "secrets come from --secrets-file or the environment, not a namespace", container: "secrets come from --secrets-file or the environment, not a namespace" },
  resources: { host: "no CPU or memory limits are applied", container: "no CPU or memory limits are applied" },
  "image-pull-policy": { host: "images are not used with --no-container" },
  "node-selector": { host: "there is one node: this machine", container: "there is one node: this machine" },
  "runs-on": { host: "there is one machine: this one", container: "there is one machine: this one" },
  "artifact-passing": { host: "artifacts are not copied between steps locally", container: "artifacts are not copied between steps locally" },
  "output-artifact": { host: "output artifacts are not stored", container: "output artifacts are not stored" },
  "artifact-store": { host: "artifacts are not uploaded or fetched", container: "artifacts are not uploaded or fetched" },
  "artifact-git": { host: "input artifacts are not fetched", container: "input artifacts are not fetched" },
  "artifact-http": { host: "input artifacts are not fetched", container: "input artifacts are not fetched" },
  volume: { host: "no volumes are created", container: "no volumes are created" },
  "volume-mount": { host: "volumes are not mounted", container: "volumes are not mounted" },
  tolerations: { host: "no scheduling on this machine", container: "no scheduling on this machine" },
  affinity: { host: "no scheduling on this machine", container: "no scheduling on this machine" },
  "security-context": { host: "steps run as the current user", container: "the runtime's defaults apply" },
  sidecar: { host: "sidecar containers are not started", container: "sidecar containers are not started" },
  cache: { host: "steps always run: no results are memoized", container: "steps always run: no results are memoized" },
  cron: { host: "the workflow runs once, now", container: "the workflow runs once, now" },
  "reusable-template": { host: "the template is run once, as a workflow", container: "the template is run once, as a workflow" },
  "pod-gc": { host: "no pods", container: "containers are removed when they finish" },
  "image-pull-secrets": { host: "images are not used with --no-container", container: "the runtime's own registry login is used" },
  dns: { host: "the machine's DNS is used", container: "the runtime's DNS is used" },
  "time-to-clean": { host: "nothing is kept to clean up", container: "nothing is kept to clean up" },
  "service-account": { host: "no Kubernetes identity", container: "no Kubernetes identity" },
  namespace: { host: "no Kubernetes namespace", container: "no Kubernetes namespace" },
  labels: { host: "no Kubernetes object to label", container: "no Kubernetes object to label" },
  annotations: { host: "no Kubernetes object to annotate", container: "no Kubernetes object to annotate" },
};

/**
 * One line per feature the workflow uses that this mode skips, in feature-table order, e.g.
 * `node selector (nodeSelector), used by step "train": there is one node: this machine`.
 */
export function skippedFeatures(ir: WorkflowIR, mode: "host" | "container"): string[] {
  const first = new Map<Feature, string[]>();
  for (const use of featuresOf(ir)) {
    const why = SKIPPED[use.feature];
    if (why === "yes" || !why[mode]) continue;
    const list = first.get(use.feature) ?? [];
    if (!list.includes(use.where)) list.push(use.where);
    first.set(use.feature, list);
  }
  const out: string[] = [];
  for (const f of Object.keys(FEATURES) as Feature[]) {
    const where = first.get(f);
    if (!where) continue;
    const shown = where.length > 3 ? `${where.slice(0, 3).join(", ")} and ${where.length - 3} more` : where.join(", ");
    out.push(`${FEATURES[f]}, used by ${shown}: ${(SKIPPED[f] as { host?: string; container?: string })[mode]}`);
  }
  return out;
}
