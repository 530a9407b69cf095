/** What GitHub Actions can express of the IR: the backend's capability table (data, see STYLE.md). */
import type { Capabilities } from "../../src/ir/features.js";

const KUBE_ONLY = "it is a Kubernetes scheduling setting and GitHub Actions jobs run on runners chosen by label: pick the runner with --github-runs-on";

export const capabilities: Capabilities = {
  "container-step": "yes",
  "script-step": "yes",
  "resource-step": { unsupported: "GitHub Actions has no Kubernetes API: run kubectl in a container step with your cluster's credentials as secrets" },
  "template-ref-step": {
    unsupported: "it calls a template installed in an Argo cluster; on GitHub, call a reusable workflow from a workflow of your own (jobs.<id>.uses)",
  },
  "while-loop": { unsupported: "GitHub Actions jobs form a fixed graph with no loops or recursion: loop inside one step's command instead" },
  param: "yes",
  "step-result": "yes",
  "output-parameter": "yes",
  "resource-output": { unsupported: "GitHub Actions has no Kubernetes resource steps" },
  env: "yes",
  "secret-env": "yes",
  "secret-namespace": { warn: "GitHub secrets have no namespace: the namespace is ignored and the repository secret is used" },
  "declared-secret": {
    warn: "a workflow cannot create GitHub secrets: store each key as a repository secret named <SECRET>_<KEY> (upper case, see backends/github/README.md); the values in the workflow program are not used",
  },
  resources: "yes",
  "step-timeout": "yes",
  retry: {
    warn: "GitHub Actions has no job retries: the run step re-runs the command in a loop (with the backoff) inside the same job container, not on a fresh runner",
  },
  "retry-backoff": "yes",
  "image-pull-policy": "yes",
  "working-dir": "yes",
  "node-selector": { unsupported: KUBE_ONLY },
  "runs-on": "yes",
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
  "artifact-passing": "yes",
  "output-artifact": "yes",
  "artifact-store": {
    unsupported: "GitHub Actions has no S3/GCS/OSS artifact store: copy the files in your command (aws s3 cp, gsutil, ossutil) with credentials from secrets",
  },
  "artifact-git": { unsupported: "fetch the repository in your command (git clone) or use actions/checkout in a workflow of your own" },
  "artifact-http": { unsupported: "fetch the file in your command (curl, wget)" },
  volume: { unsupported: "GitHub Actions jobs run on separate runners that share no volumes: pass files between steps as artifacts" },
  "volume-mount": { unsupported: "GitHub Actions jobs run on separate runners that share no volumes: pass files between steps as artifacts" },
  tolerations: { unsupported: KUBE_ONLY },
  affinity: { unsupported: KUBE_ONLY },
  "security-context": { unsupported: "a job container takes docker options, not a Kubernetes security context: run as the image's user, or change the image" },
  sidecar: {
    unsupported: "GitHub service containers (services:) cannot take a command, do not share the step's volume mounts and are reached by host name, not localhost",
  },
  daemon: { unsupported: "a GitHub job cannot keep running in the background while later jobs run: start the server inside the step that uses it" },
  cache: {
    warn: "memoized through actions/cache: entries are scoped to the branch (plus the default branch), are evicted after 7 days unused, and a hit still starts the job container",
  },
  cron: "yes",
  "reusable-template": "yes",
  parallelism: { warn: "GitHub Actions has no workflow-wide limit on running jobs (only the account's concurrency limit); map parallelism is kept as max-parallel" },
  "pod-gc": { warn: "GitHub removes every job container when its job ends, whatever podGC says" },
  "image-pull-secrets": {
    unsupported: "a job container takes registry credentials (container.credentials) from repository secrets, not Kubernetes pull secrets",
  },
  dns: { unsupported: "GitHub-hosted runners have no per-job DNS configuration" },
  "workflow-timeout": {
    warn: "GitHub Actions has no deadline for a whole run: every job's timeout-minutes is capped at the workflow timeout, so the run as a whole may take longer",
  },
  "time-to-clean": { warn: "GitHub keeps runs, logs and artifacts for the repository's retention period: the time to clean is not written" },
  "service-account": { warn: "GitHub jobs run with the GITHUB_TOKEN's permissions (--github-permissions), not a service account: it is not written" },
  namespace: { warn: "GitHub Actions has no namespaces: the namespace is not written" },
  labels: { warn: "GitHub workflows have no labels: they are not written" },
  annotations: { warn: "GitHub workflows have no annotations: they are not written" },
};
