/**
 * What the Airflow backend expresses, drops with a warning or refuses (feature by feature), and
 * the Kubernetes settings the bash lowering cannot apply.
 */
import type { DiagnosticBag } from "../../src/diagnostics.js";
import type { Capabilities } from "../../src/ir/features.js";
import { allSteps, isPodStep } from "../../src/ir/graph.js";
import type { Loc, WorkflowIR } from "../../src/ir/types.js";

const NOT_K8S = "the bash lowering runs commands on the Airflow worker, where there is no pod to configure";

export const capabilities: Capabilities = {
  "container-step": "yes",
  "script-step": "yes",
  param: "yes",
  "step-result": "yes",
  "output-parameter": "yes",
  env: "yes",
  "secret-env": "yes",
  "secret-namespace": {
    warn: "a pod reads secrets from its own namespace only: the secret's namespace is not written into the DAG; run the pod in that namespace",
  },
  resources: "yes",
  "step-timeout": "yes",
  retry: "yes",
  "retry-backoff": "yes",
  "image-pull-policy": "yes",
  "working-dir": "yes",
  "node-selector": "yes",
  "runs-on": { warn: "runner labels pick GitHub Actions runners; Airflow picks workers by queue and Kubernetes nodes by nodeSelector, so they are not written" },
  "status-dependency": "yes",
  "depends-expression": "yes",
  condition: "yes",
  "loop-items": "yes",
  "loop-from": "yes",
  "loop-parallelism": "yes",
  "fan-in": "yes",
  "exit-handler": "yes",
  "workflow-status": "yes",
  "workflow-name": { warn: "Airflow has no per-run workflow name: the DAG run's run_id is used instead" },
  "workflow-timeout": {
    warn: "becomes the DAG's dagrun_timeout, which Airflow enforces for scheduled runs only, not for runs triggered by hand; add step timeouts for a hard limit",
  },
  "time-to-clean": { warn: "Airflow keeps DAG run records until they are cleaned up with `airflow db clean`; there is no per-run expiry" },
  "service-account": "yes",
  namespace: "yes",
  labels: "yes",
  annotations: "yes",
  cron: "yes",
  "reusable-template": "yes",
  parallelism: "yes",
  "pod-gc": "yes",
  "image-pull-secrets": "yes",
  tolerations: "yes",
  affinity: "yes",
  "security-context": "yes",
  "resource-step": {
    unsupported: "Airflow has no kubectl-style resource step in this backend; run `kubectl` in a container step, or use the cncf.kubernetes provider's KubernetesJobOperator in a hand-written DAG",
  },
  "resource-output": { unsupported: "resource steps are not supported on Airflow (see resource-step)" },
  "template-ref-step": {
    unsupported: "an Argo workflow template cannot be called from Airflow; inline the template's steps in the workflow",
  },
  "while-loop": {
    unsupported: "an Airflow DAG is acyclic and fixed at parse time, so a loop that repeats until a condition cannot be expressed; fan out over a list (map) or repeat inside one step",
  },
  "declared-secret": {
    unsupported: "an Airflow DAG file cannot create Kubernetes secrets; create the secret beforehand and read it with obtainSecret",
  },
  cache: { unsupported: "Airflow has no memoization of task results; drop cache, or skip the work inside the step when its result exists" },
  daemon: { unsupported: "an Airflow task runs to completion; a pod that keeps running beside later tasks cannot be expressed" },
  sidecar: { unsupported: "KubernetesPodOperator in this backend runs one container per pod; use a full pod_template_file in a hand-written DAG" },
  "artifact-passing": {
    unsupported: "Airflow passes small values through XCom, not files; pass the data through object storage or an output parameter",
  },
  "output-artifact": { unsupported: "Airflow has no artifact store; write the file to object storage from the step" },
  "artifact-store": { unsupported: "Airflow has no artifact store; fetch or upload the file from the step itself" },
  "artifact-git": { unsupported: "Airflow does not check out input artifacts; clone the repository in the step" },
  "artifact-http": { unsupported: "Airflow does not fetch input artifacts; download the file in the step" },
  volume: "yes",
  "volume-mount": "yes",
  dns: "yes",
};


export function checkBashLimits(wf: WorkflowIR, diags: DiagnosticBag): void {
const c = wf.config;
  const warn = (what: string, loc: Loc) => diags.warning("dropped", `${what} cannot be applied on target airflow with operator bash: ${NOT_K8S}`, loc);
  if (c.serviceAccount !== undefined) warn("the service account", wf.loc);
  if (c.namespace !== undefined) warn("the namespace", wf.loc);
  if (c.labels) warn("labels", wf.loc);
  if (c.annotations) warn("annotations", wf.loc);
  if (c.nodeSelector) warn("the node selector", wf.loc);
  if (c.tolerations?.length) warn("tolerations", wf.loc);
  if (c.affinity) warn("affinity", wf.loc);
  if (c.securityContext) warn("the security context", wf.loc);
  if (c.imagePullSecrets?.length) warn("image pull secrets", wf.loc);
  if (c.podGC) warn("pod garbage collection", wf.loc);
  if (c.dnsPolicy || c.dnsConfig) warn("DNS settings", wf.loc);
  for (const s of allSteps(wf)) {
    if (!isPodStep(s)) continue;
    const w = (what: string) => warn(`${what} of step "${s.name}"`, s.loc);
    if (s.resources) w("the resources");
    if (s.nodeSelector) w("the node selector");
    if (s.imagePullPolicy) w("the image pull policy");
    if (s.tolerations?.length) w("tolerations");
    if (s.affinity) w("affinity");
    if (s.securityContext) w("the security context");
    if (s.volumeMounts?.length) {
      diags.warning("dropped", `volume mounts of step "${s.name}" are ignored on target airflow with operator bash: the command sees the worker's own filesystem at those paths`, s.loc);
    }
    if (s.secretEnv?.length) {
      diags.error("unsupported", `secret env vars of step "${s.name}" are not supported on target airflow with operator bash: there is no Kubernetes secret on the worker; use the kpo operator, or read an Airflow connection in the command`, s.loc);
    }
  }
}
