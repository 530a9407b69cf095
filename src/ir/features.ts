/**
 * The IR's features, each a name a backend declares support for. `featuresOf` lists every
 * use of a feature in a workflow with the DSL location that used it, so a backend that
 * cannot express one reports exactly where it was used. Adding a feature here makes the
 * compiler demand a decision for it from every backend (`Capabilities` is a full record).
 */
import { refsOfStep } from "./graph.js";
import type { Depends, Loc, WorkflowIR } from "./types.js";

export const FEATURES = {
  "container-step": "a container step (runContainer)",
  "script-step": "a script step (runScript)",
  param: "a workflow parameter (param)",
  "step-result": "a step's standard output used as a value (.result)",
  "output-parameter": "an output parameter read from a file (createParameterArtifact)",
  env: "environment variables (env)",
  "secret-env": "env vars from an existing secret (obtainSecret)",
  "secret-namespace": "a secret in a named namespace (obtainSecret namespace)",
  resources: "resource requests and limits (resources)",
  "step-timeout": "a step timeout (timeout)",
  retry: "retries (retry)",
  "retry-backoff": "retry backoff (retry.backoff)",
  "image-pull-policy": "an image pull policy (imagePullPolicy)",
  "working-dir": "a working directory (workingDir)",
  "node-selector": "a node selector (nodeSelector)",
  "status-dependency": "a dependency on a step's failure or other non-success state (setDependencies with .Failed, .Errored, ...)",
  "depends-expression": "a dependency expression with || or ! (setDependencies)",
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

/** Every feature the workflow uses, in a fixed order (workflow first, then steps in order). */
export function featuresOf(wf: WorkflowIR): FeatureUse[] {
  const out: FeatureUse[] = [];
  const wfWhere = `workflow "${wf.name}"`;
  const add = (feature: Feature, loc: Loc, where: string) => out.push({ feature, loc, where });
  const c = wf.config;
  if (c.timeout !== undefined) add("workflow-timeout", wf.loc, wfWhere);
  if (c.timeToClean !== undefined) add("time-to-clean", wf.loc, wfWhere);
  if (c.serviceAccount !== undefined) add("service-account", wf.loc, wfWhere);
  if (c.namespace !== undefined) add("namespace", wf.loc, wfWhere);
  if (c.labels !== undefined) add("labels", wf.loc, wfWhere);
  if (c.annotations !== undefined) add("annotations", wf.loc, wfWhere);
  for (const p of wf.params) add("param", p.loc, `parameter "${p.name}"`);
  for (const s of wf.steps) {
    const where = `step "${s.name}"`;
    add(s.kind === "container" ? "container-step" : "script-step", s.loc, where);
    if (s.env?.length) add("env", s.loc, where);
    if (s.secretEnv?.length) add("secret-env", s.loc, where);
    if (s.secretEnv?.some((e) => e.namespace !== undefined)) add("secret-namespace", s.loc, where);
    if (s.resources) add("resources", s.loc, where);
    if (s.timeout !== undefined) add("step-timeout", s.loc, where);
    if (s.retry) add("retry", s.loc, where);
    if (s.retry?.backoff) add("retry-backoff", s.loc, where);
    if (s.imagePullPolicy) add("image-pull-policy", s.loc, where);
    if (s.workingDir !== undefined) add("working-dir", s.loc, where);
    if (s.nodeSelector) add("node-selector", s.loc, where);
    for (const o of s.outputs ?? []) add("output-parameter", o.loc, `${where} output "${o.name}"`);
    if (refsOfStep(s).some((r) => r.kind === "result")) add("step-result", s.loc, where);
    const d = hasStatusOrExpr(s.depends);
    if (d.status) add("status-dependency", s.loc, where);
    if (d.expr) add("depends-expression", s.loc, where);
  }
  return out;
}
