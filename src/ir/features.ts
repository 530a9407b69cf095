/**
 * The IR's features, each a name a backend declares support for. `featuresOf` lists every
 * use of a feature in a workflow with the DSL location that used it, so a backend that
 * cannot express one reports exactly where it was used. Adding a feature here makes the
 * compiler demand a decision for it from every backend (`Capabilities` is a full record).
 */
import { allSteps, isPodStep, refsOfStep, refsOfValue, valuesOfCondition } from "./graph.js";
import type { Depends, Loc, WorkflowIR } from "./types.js";

export const FEATURES = {
  "container-step": "a container step (runContainer)",
  "script-step": "a script step (runScript)",
  "resource-step": "a Kubernetes resource step (runJob)",
  "template-ref-step": "a call to a template of an installed workflow template (runTemplate)",
  "while-loop": "a loop that repeats while a condition holds (execWhile)",
  param: "a workflow parameter (param)",
  "step-result": "a step's standard output used as a value (.result)",
  "output-parameter": "an output parameter read from a file (createParameterArtifact)",
  "resource-output": "an output read from a created Kubernetes object (runJob outputs)",
  env: "environment variables (env)",
  "secret-env": "env vars from an existing secret (obtainSecret)",
  "secret-namespace": "a secret in a named namespace (obtainSecret namespace)",
  "declared-secret": "a secret declared by the workflow (createSecret)",
  resources: "resource requests and limits (resources)",
  "step-timeout": "a step timeout (timeout)",
  retry: "retries (retry)",
  "retry-backoff": "retry backoff (retry.backoff)",
  "image-pull-policy": "an image pull policy (imagePullPolicy)",
  "working-dir": "a working directory (workingDir)",
  "node-selector": "a node selector (nodeSelector)",
  "runs-on": "runner labels that pick the machine, as GitHub Actions runs-on does (runsOn)",
  "status-dependency": "a dependency on a step's failure or other non-success state (setDependencies with .Failed, .Errored, ...)",
  "depends-expression": "a dependency expression with || or ! (setDependencies)",
  condition: "a condition on a step (when)",
  "loop-items": "fan-out over a static list (map)",
  "loop-from": "fan-out over a list produced at run time (map over a step output)",
  "loop-parallelism": "a limit on how many fanned-out instances run at once (map parallelism)",
  "fan-in": "collecting the outputs of a fanned-out step (fan-in after map)",
  "exit-handler": "steps that run when the workflow ends (setExitHandler)",
  "workflow-status": "the workflow's final status as a value or condition (exit handlers)",
  "workflow-name": "the running workflow's name as a value",
  "artifact-passing": "an artifact passed from one step to another",
  "output-artifact": "an output artifact kept in the default artifact store (createLocalArtifact)",
  "artifact-store": "an artifact kept in or fetched from S3, GCS or OSS (createS3Artifact, ...)",
  "artifact-git": "a Git repository checked out as an input artifact (createGitArtifact)",
  "artifact-http": "a file fetched over HTTP as an input artifact (createHttpArtifact)",
  volume: "a workflow volume: an existing claim, a scratch emptyDir or a claim template (addVolume, createWorkflowVolume)",
  "volume-mount": "a volume mounted into a step (volumeMounts)",
  tolerations: "Kubernetes tolerations",
  affinity: "Kubernetes affinity",
  "security-context": "a Kubernetes security context (setSecurityContext)",
  sidecar: "a sidecar container (sidecars)",
  daemon: "a daemon step that keeps running while later steps run (daemon)",
  cache: "memoized step results (cache)",
  cron: "a cron schedule (configWorkflow cronConfig)",
  "reusable-template": "a reusable workflow template (configWorkflow reusable)",
  parallelism: "a workflow-wide limit on concurrent steps (parallelism)",
  "pod-gc": "deleting finished pods (podGC)",
  "image-pull-secrets": "image pull secrets (addImagePullSecret)",
  dns: "DNS policy or configuration (setDns)",
  "workflow-timeout": "a workflow timeout (configWorkflow timeout)",
  "time-to-clean": "deleting the finished workflow after a time (configWorkflow timeToClean)",
  "service-account": "a service account (configWorkflow serviceAccount)",
  namespace: "a namespace (configWorkflow namespace)",
  labels: "workflow labels (configWorkflow labels)",
  annotations: "workflow annotations (configWorkflow annotations)",
} as const;

export type Feature = keyof typeof FEATURES;

/** How a backend handles a feature: expresses it, drops it with a warning, or refuses it. */
export type Support =
  | "yes"
  | { readonly warn: string }
  | { readonly unsupported: string };

/** A full table: the compiler rejects a backend that forgets a feature. */
export type Capabilities = { readonly [F in Feature]: Support };

export interface FeatureUse {
  readonly feature: Feature;
  readonly loc: Loc;
  /** What used it, e.g. `step "train"`. */
  readonly where: string;
}

function hasStatusOrExpr(d: Depends | undefined): { status: boolean; expr: boolean } {
  const r = { status: false, expr: false };
  const walk = (x: Depends) => {
    if (x.kind === "on") {
      if (x.status !== "ok") r.status = true;
    } else if (x.kind === "not") {
      r.expr = true;
      walk(x.of);
    } else {
      if (x.kind === "or") r.expr = true;
      x.of.forEach(walk);
    }
  };
  if (d) walk(d);
  return r;
}

/**
 * Every feature the workflow uses, in a fixed order (workflow first, then steps in order);
 * with `only`, just the uses of features it accepts (a backend asks about the few it does
 * not fully support, instead of listing every step's).
 */
export function featuresOf(wf: WorkflowIR, only?: (f: Feature) => boolean): FeatureUse[] {
  const out: FeatureUse[] = [];
  const wfWhere = `workflow "${wf.name}"`;
  const add = (feature: Feature, loc: Loc, where: string) => {
    if (only === undefined || only(feature)) out.push({ feature, loc, where });
  };
  const c = wf.config;
  const w = (f: Feature, present: unknown) => {
    if (present !== undefined && present !== false) add(f, wf.loc, wfWhere);
  };
  w("workflow-timeout", c.timeout);
  w("time-to-clean", c.timeToClean);
  w("service-account", c.serviceAccount);
  w("namespace", c.namespace);
  w("labels", c.labels);
  w("annotations", c.annotations);
  w("cron", c.cron);
  w("reusable-template", c.reusable);
  w("parallelism", c.parallelism);
  w("pod-gc", c.podGC);
  w("volume", c.volumes?.length ? true : undefined);
  w("node-selector", c.nodeSelector);
  w("runs-on", c.runsOn);
  w("tolerations", c.tolerations?.length ? true : undefined);
  w("affinity", c.affinity);
  w("image-pull-secrets", c.imagePullSecrets?.length ? true : undefined);
  w("dns", c.dnsPolicy ?? c.dnsConfig);
  w("security-context", c.securityContext);
  for (const p of wf.params) add("param", p.loc, `parameter "${p.name}"`);
  for (const sd of wf.secrets ?? []) add("declared-secret", sd.loc, `secret "${sd.name}"`);
  if (wf.onExit?.length) add("exit-handler", wf.onExit[0]!.loc, `the exit handler`);

  const looped = new Set(allSteps(wf).filter((s) => s.loop).map((s) => s.name));
  const WHERE = ["step-result", "fan-in", "workflow-status", "workflow-name", "status-dependency", "depends-expression"] as const;
  // Reading a step's references and depends is only worth it when one of these is asked about.
  const readRefs = only === undefined || WHERE.some((f) => only(f));
  for (const s of allSteps(wf)) {
    const where = `step "${s.name}"`;
    const f = (feature: Feature, present: unknown) => {
      if (present !== undefined && present !== false) add(feature, s.loc, where);
    };
    add(
      ({ container: "container-step", script: "script-step", resource: "resource-step", templateRef: "template-ref-step", while: "while-loop" } as const)[s.kind],
      s.loc,
      where,
    );
    if (isPodStep(s)) {
      f("env", s.env?.length ? true : undefined);
      f("secret-env", s.secretEnv?.length ? true : undefined);
      // A secret in the workflow's own namespace needs nothing special.
      f("secret-namespace", s.secretEnv?.some((e) => e.namespace !== undefined && e.namespace !== wf.config.namespace) || undefined);
      f("resources", s.resources);
      f("image-pull-policy", s.imagePullPolicy);
      f("working-dir", s.workingDir);
      f("node-selector", s.nodeSelector);
      f("runs-on", s.runsOn);
      f("volume-mount", s.volumeMounts?.length ? true : undefined);
      f("tolerations", s.tolerations?.length ? true : undefined);
      f("affinity", s.affinity);
      f("security-context", s.securityContext);
      f("sidecar", s.sidecars?.length ? true : undefined);
      f("daemon", s.daemon || undefined);
      for (const a of s.inputArtifacts ?? []) {
        if (a.from.kind === "step") add("artifact-passing", a.loc, `${where} input "${a.name}"`);
        else {
          const k = a.from.location.kind;
          add(k === "git" ? "artifact-git" : k === "http" ? "artifact-http" : "artifact-store", a.loc, `${where} input "${a.name}"`);
        }
      }
      for (const a of s.outputArtifacts ?? []) {
        add(a.store ? "artifact-store" : "output-artifact", a.loc, `${where} output artifact "${a.name}"`);
      }
    }
    f("step-timeout", s.timeout);
    f("retry", s.retry);
    f("retry-backoff", s.retry?.backoff);
    f("cache", s.cache);
    f("condition", s.when);
    if (s.loop) {
      f(s.loop.kind === "items" ? "loop-items" : "loop-from", true);
      f("loop-parallelism", s.loop.parallelism);
    }
    for (const o of s.outputs ?? []) {
      add(o.jsonPath !== undefined ? "resource-output" : "output-parameter", o.loc, `${where} output "${o.name}"`);
    }
    if (!readRefs) continue;
    const refs = [...refsOfStep(s), ...(s.kind === "while" ? valuesOfCondition(s.condition).flatMap((v) => refsOfValue(v)) : [])];
    if (refs.some((r) => r.kind === "result")) add("step-result", s.loc, where);
    if (refs.some((r) => (r.kind === "result" || r.kind === "output") && looped.has(r.step))) add("fan-in", s.loc, where);
    if (refs.some((r) => r.kind === "workflow" && r.field === "status")) add("workflow-status", s.loc, where);
    if (refs.some((r) => r.kind === "workflow" && r.field === "name")) add("workflow-name", s.loc, where);
    const d = hasStatusOrExpr(s.depends);
    if (d.status) add("status-dependency", s.loc, where);
    if (d.expr) add("depends-expression", s.loc, where);
  }
  return out;
}
