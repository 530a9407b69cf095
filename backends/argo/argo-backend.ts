/**
 * Argo Workflows backend: a `Workflow` (argoproj.io/v1alpha1) per IR workflow, or a
 * `CronWorkflow` (cron schedule) or `WorkflowTemplate` (reusable).
 *
 * Shape: one "graph" template per step graph (the main graph, each execWhile body, the exit
 * handler), plus one leaf template per container, script or resource step. A graph
 * template is a `steps` template when its graph is a plain sequence of parallel groups,
 * otherwise a `dag`. Values that read another step's output or a map item reach the leaf
 * template as input parameters, because only the graph template can see `steps.*`,
 * `tasks.*` and `item`.
 */
import type { Backend, CompileContext, OutputFile } from "../backend.js";
import type { Capabilities } from "../../src/ir/features.js";
import {
  allSteps,
  buildGraph,
  depAtoms,
  isPlainAnd,
  isPodStep,
  parentsOf,
  refsOfStep,
  refsOfValue,
  sinks,
  topoOrder,
  valuesOfCondition,
  valuesOfStep,
} from "../../src/ir/graph.js";
import type {
  ArtifactLocation,
  Condition,
  DepStatus,
  Depends,
  Ref,
  SecretKeyRef,
  Step,
  Value,
  WorkflowIR,
} from "../../src/ir/types.js";
import { mangle, NameTable, shortHash, type NameRule } from "../common/names.js";
import { kubeLiteral } from "../common/kube.js";
import { toYaml } from "../common/yaml.js";

const capabilities: Capabilities = {
  "container-step": "yes",
  "script-step": "yes",
  "resource-step": "yes",
  "template-ref-step": "yes",
  "while-loop": "yes",
  param: "yes",
  "step-result": "yes",
  "output-parameter": "yes",
  "resource-output": "yes",
  env: "yes",
  "secret-env": "yes",
  "secret-namespace": {
    warn: "a pod reads secrets from its own namespace only: the secret's namespace is not written into the manifest; run the workflow in that namespace",
  },
  "declared-secret": "yes",
  resources: "yes",
  "step-timeout": "yes",
  retry: "yes",
  "retry-backoff": "yes",
  "image-pull-policy": "yes",
  "working-dir": "yes",
  "node-selector": "yes",
  "runs-on": { warn: "runner labels pick GitHub Actions runners; on Kubernetes a step's node is chosen with nodeSelector, so they are not written" },
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
  "artifact-store": "yes",
  "artifact-git": "yes",
  "artifact-http": "yes",
  volume: "yes",
  "volume-mount": "yes",
  tolerations: "yes",
  affinity: "yes",
  "security-context": "yes",
  sidecar: "yes",
  daemon: "yes",
  cache: "yes",
  cron: "yes",
  "reusable-template": "yes",
  parallelism: "yes",
  "pod-gc": "yes",
  "image-pull-secrets": "yes",
  dns: "yes",
  "workflow-timeout": "yes",
  "time-to-clean": "yes",
  "service-account": "yes",
  namespace: "yes",
  labels: "yes",
  annotations: "yes",
};

/**
 * Argo names tasks and steps with `[a-zA-Z0-9][-a-zA-Z0-9]*`, at most 63 characters, and a
 * DAG task name may not begin with a digit. Template names also end up in pod names, so
 * we keep those lower-case.
 */
const TASK_NAME: NameRule = {
  what: "task/step name",
  target: "argo",
  valid: /^[a-zA-Z][-a-zA-Z0-9]*$/,
  maxLength: 63,
  fix: (n) => {
    const s = n.replace(/[^a-zA-Z0-9-]+/g, "-").replace(/-+/g, "-").replace(/^-+|-+$/g, "");
    return /^[a-zA-Z]/.test(s) ? s : `s-${s}`;
  },
};

const TEMPLATE_NAME: NameRule = {
  ...TASK_NAME,
  what: "template name",
  valid: /^[a-z][-a-z0-9]*$/,
  fix: (n) => TASK_NAME.fix(n).toLowerCase(),
};

/** `metadata.name`/`generateName`: a DNS-1123 subdomain, leaving room for Argo's suffixes. */
const WORKFLOW_NAME: NameRule = {
  what: "workflow name",
  target: "argo",
  valid: /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/,
  maxLength: 52,
  fix: (n) => n.toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/-+/g, "-").replace(/^-+|-+$/g, "") || "workflow",
};

type Json = Record<string, unknown>;
type Mode = "steps" | "tasks";

const STATUS_SUFFIX: Record<Exclude<DepStatus, "ok" | "any">, string> = {
  succeeded: "Succeeded",
  failed: "Failed",
  errored: "Errored",
  skipped: "Skipped",
  omitted: "Omitted",
  daemoned: "Daemoned",
  anySucceeded: "AnySucceeded",
  allFailed: "AllFailed",
};

const COMPARE: Record<string, string> = { eq: "==", ne: "!=", gt: ">", lt: "<", ge: ">=", le: "<=" };

/** Quote text as an expr-lang string, with every brace alone so no `{{` or `}}` appears. */
function exprString(s: string): string {
  const pieces = s.split(/([{}])/).filter((p) => p !== "");
  if (pieces.length === 0) return "''";
  return pieces
    .map(
      (p) =>
        `'${p
          .replace(/\\/g, "\\\\")
          .replace(/'/g, "\\'")
          .replace(/\n/g, "\\n")
          .replace(/\r/g, "\\r")
          .replace(/\t/g, "\\t")}'`,
    )
    .join(" + ");
}

/**
 * Must these parts travel as an `{{=…}}` expression? When a literal holds `{{` (Argo would
 * read a tag), or ends in `{` right before a reference (`{` + `{{x}}` reads as the tag `{x`).
 */
function needsExpression(parts: readonly (string | Ref)[]): boolean {
  return parts.some((p, i) => typeof p === "string" && (p.includes("{{") || (p.endsWith("{") && i + 1 < parts.length)));
}

/** A leaf template's input parameter standing for a reference made in the graph template. */
interface Input {
  readonly name: string;
  readonly ref: Ref;
  readonly key: string;
}

class ArgoCompiler {
  /** IR step name → Argo task/step name. */
  private readonly names: NameTable;
  /** IR step name → template name (unique, lower-case); graph templates too. */
  private readonly templates = new Map<string, string>();
  private readonly takenTemplates = new Set<string>();
  private readonly wfName: string;
  /** Steps that may end Omitted (their depends can be unmet), so "after" must include Omitted. */
  private readonly mayOmit = new Set<string>();
  private readonly out: Json[] = [];
  /** Fanned-out steps with a parallelism limit: each runs inside a wrapper template of its own. */
  private readonly wrapped = new Map<string, string>();
  /** Steps whose `.result` some step reads. */
  private readonly resultRead = new Set<string>();
  /** While writing a wrapper's inner call: how outer references appear there. */
  private rewrite: Map<string, string> | undefined;

  constructor(
    private readonly wf: WorkflowIR,
    private readonly ctx: CompileContext,
  ) {
    this.names = new NameTable(TASK_NAME, ctx.diagnostics);
    this.wfName = new NameTable(WORKFLOW_NAME, ctx.diagnostics).add(wf.name, wf.loc);
  }

  private err(message: string, loc = this.wf.loc): void {
    this.ctx.diagnostics.error("unsupported", `${message} (target argo)`, loc);
  }

  private allocTemplate(base: string): string {
    let t = mangle(base, TEMPLATE_NAME);
    if (this.takenTemplates.has(t)) t = `${t.slice(0, 54)}-${shortHash(base)}`;
    for (let i = 2; this.takenTemplates.has(t); i++) t = `${t.slice(0, 58)}-${i}`;
    this.takenTemplates.add(t);
    return t;
  }

  compile(): OutputFile[] {
    const wf = this.wf;
    const all = [...wf.steps, ...(wf.onExit ?? [])];
    const walk = (steps: readonly Step[]) => {
      for (const s of steps) {
        this.names.add(s.name, s.loc);
        if (s.kind !== "templateRef") this.templates.set(s.name, this.allocTemplate(s.name));
        if (s.kind === "while") walk(s.body);
      }
    };
    walk(all);
    for (const s of allSteps(wf)) {
      for (const r of [...refsOfStep(s), ...(s.kind === "while" ? valuesOfCondition(s.condition).flatMap((v) => refsOfValue(v)) : [])]) {
        if (r.kind === "result") this.resultRead.add(r.step);
      }
      if (s.loop?.parallelism !== undefined) this.wrapped.set(s.name, this.allocTemplate(`${s.name}-loop`));
    }
    let entry = this.wfName.slice(0, 57);
    if (!/^[a-z]/.test(entry)) entry = `w-${entry}`;
    while (this.takenTemplates.has(entry)) entry = `${entry}-main`;
    this.takenTemplates.add(entry);
    for (const steps of [wf.steps, wf.onExit ?? []]) this.markOmittable(steps);

    const templates: Json[] = [this.graphTemplate(entry, wf.steps)];
    let exitName: string | undefined;
    if (wf.onExit?.length) {
      exitName = this.allocTemplate("exit-handler");
      templates.push(this.graphTemplate(exitName, wf.onExit));
    }
    const leaves = (steps: readonly Step[]) => {
      for (const s of steps) {
        const t = this.leafTemplate(s);
        if (t) templates.push(t);
        if (s.kind === "while") leaves(s.body);
      }
    };
    leaves(all);
    for (const s of allSteps(wf)) if (this.wrapped.has(s.name)) templates.push(this.wrapperTemplate(s));

    const c = wf.config;
    const spec: Json = { entrypoint: entry };
    if (wf.params.length) {
      spec.arguments = {
        parameters: wf.params.map((p) => {
          const out: Json = { name: p.name };
          if (p.default !== undefined) out.value = p.default;
          if (p.description !== undefined) out.description = p.description;
          return out;
        }),
      };
    }
    if (c.serviceAccount !== undefined) spec.serviceAccountName = c.serviceAccount;
    if (c.timeout !== undefined) spec.activeDeadlineSeconds = Math.ceil(c.timeout);
    if (c.timeToClean !== undefined) spec.ttlStrategy = { secondsAfterCompletion: Math.ceil(c.timeToClean) };
    if (c.parallelism !== undefined) spec.parallelism = c.parallelism;
    if (c.podGC !== undefined) spec.podGC = { strategy: c.podGC };
    if (exitName) spec.onExit = exitName;
    if (c.nodeSelector) spec.nodeSelector = { ...c.nodeSelector };
    if (c.tolerations?.length) spec.tolerations = c.tolerations.map((t) => ({ ...t }));
    if (c.affinity) spec.affinity = c.affinity;
    if (c.imagePullSecrets?.length) spec.imagePullSecrets = c.imagePullSecrets.map((name) => ({ name }));
    if (c.dnsPolicy) spec.dnsPolicy = c.dnsPolicy;
    if (c.dnsConfig) spec.dnsConfig = c.dnsConfig;
    if (c.securityContext) spec.securityContext = c.securityContext;
    const volumes = (c.volumes ?? []).filter((v) => v.kind !== "claim");
    if (volumes.length) {
      spec.volumes = volumes.map((v) =>
        v.kind === "pvc"
          ? { name: v.name, persistentVolumeClaim: { claimName: v.claimName, ...(v.readOnly ? { readOnly: true } : {}) } }
          : { name: v.name, emptyDir: { ...(v.medium ? { medium: v.medium } : {}), ...(v.sizeLimit ? { sizeLimit: v.sizeLimit } : {}) } },
      );
    }
    const claims = (c.volumes ?? []).filter((v) => v.kind === "claim");
    if (claims.length) {
      spec.volumeClaimTemplates = claims.map((v) => ({
        metadata: { name: v.name },
        spec: {
          accessModes: [...v.accessModes],
          resources: { requests: { storage: v.size } },
          ...(v.storageClass !== undefined ? { storageClassName: v.storageClass } : {}),
        },
      }));
    }
    spec.templates = templates;

    const metadata: Json = {};
    if (c.namespace !== undefined) metadata.namespace = c.namespace;
    if (c.labels) metadata.labels = { ...c.labels };
    if (c.annotations) metadata.annotations = { ...c.annotations };
    let doc: Json;
    if (c.cron && c.reusable) {
      this.err("a workflow cannot be both a cron schedule and a reusable template");
    }
    if (c.cron) {
      const cron = c.cron;
      const cronSpec: Json = { schedules: [cron.schedule] };
      if (cron.timezone !== undefined) cronSpec.timezone = cron.timezone;
      if (cron.concurrencyPolicy !== undefined) cronSpec.concurrencyPolicy = cron.concurrencyPolicy;
      if (cron.startingDeadlineSeconds !== undefined) cronSpec.startingDeadlineSeconds = cron.startingDeadlineSeconds;
      if (cron.successfulJobsHistoryLimit !== undefined) cronSpec.successfulJobsHistoryLimit = cron.successfulJobsHistoryLimit;
      if (cron.failedJobsHistoryLimit !== undefined) cronSpec.failedJobsHistoryLimit = cron.failedJobsHistoryLimit;
      if (cron.suspend !== undefined) cronSpec.suspend = cron.suspend;
      cronSpec.workflowSpec = spec;
      doc = { apiVersion: "argoproj.io/v1alpha1", kind: "CronWorkflow", metadata: { name: this.wfName, ...metadata }, spec: cronSpec };
    } else if (c.reusable) {
      doc = { apiVersion: "argoproj.io/v1alpha1", kind: "WorkflowTemplate", metadata: { name: this.wfName, ...metadata }, spec };
    } else {
      doc = { apiVersion: "argoproj.io/v1alpha1", kind: "Workflow", metadata: { generateName: `${this.wfName}-`, ...metadata }, spec };
    }
    this.out.push(doc);
    const files: OutputFile[] = [{ path: `${this.wfName}.yaml`, content: toYaml(doc) }];
    if (this.ctx.options["emit-secrets"] === "true" && wf.secrets?.length) {
      const docs = wf.secrets.map((s) => {
        const data = this.ctx.secretValues?.get(s.name) ?? {};
        return {
          apiVersion: "v1",
          kind: "Secret",
          metadata: { name: s.name, ...(c.namespace !== undefined ? { namespace: c.namespace } : {}) },
          type: "Opaque",
          stringData: Object.fromEntries(s.keys.map((k) => [k, data[k] ?? ""])),
        };
      });
      files.push({ path: `${this.wfName}-secrets.yaml`, content: docs.map((d) => toYaml(d)).join("---\n") });
    }
    return files;
  }

  /**
   * Which steps can end Omitted, so that an "after" edge on them must accept Omitted too:
   * those waiting for a non-default state (`A.Failed`...), those waiting on a step whose
   * failure some step handles (the failure is expected, so its plain successors are
   * omitted rather than failing the run), and, transitively, those waiting on such steps.
   */
  private markOmittable(steps: readonly Step[]): void {
    const g = buildGraph(steps);
    const handled = new Set<string>();
    for (const s of steps) {
      for (const a of depAtoms(s.depends)) {
        if (a.status === "failed" || a.status === "errored" || a.status === "any" || a.status === "allFailed") handled.add(a.step);
      }
      if (s.depends && !isPlainAnd(s.depends) && depAtoms(s.depends).some((a) => a.status === "ok" || a.status === "succeeded")) {
        // under `!` or `||`, a plain edge can be unmet without the run failing
        for (const a of depAtoms(s.depends)) handled.add(a.step);
      }
    }
    for (const name of topoOrder(steps, g)) {
      const s = g.byName.get(name);
      if (!s?.depends) continue;
      if (!isPlainAnd(s.depends) || depAtoms(s.depends).some((a) => this.mayOmit.has(a.step) || handled.has(a.step))) this.mayOmit.add(name);
    }
    for (const s of steps) if (s.kind === "while") this.markOmittable(s.body);
  }

  /** A `steps` or `dag` template running `steps`; `tail` is an extra call after all of them (while loops). */
  private graphTemplate(name: string, steps: readonly Step[], tail?: { name: string; template: string; when: Condition; loc: Step["loc"] }): Json {
    const groups = stepGroups(steps);
    const anyOmittable = steps.some((s) => this.mayOmit.has(s.name));
    if (groups && !anyOmittable) {
      const mode: Mode = "steps";
      const body = groups.map((g) => g.map((s) => this.callSite(s, mode)));
      if (tail) body.push([{ name: tail.name, template: tail.template, when: this.conditionText(tail.when, mode, tail.loc) }]);
      return { name, steps: body };
    }
    const mode: Mode = "tasks";
    const plain = steps.every((s) => isPlainAnd(s.depends)) && !anyOmittable;
    const tasks: Json[] = steps.map((s) => {
      const call = this.callSite(s, mode);
      const task: Json = { name: call.name };
      for (const [k, v] of Object.entries(call)) if (k !== "name") task[k] = v;
      if (s.depends) {
        if (plain) task.dependencies = parentsOf(s).map((p) => this.names.get(p));
        else task.depends = this.dependsText(s.depends, true);
      }
      return task;
    });
    if (tail) {
      const ends = sinks(steps).map((n) => this.names.get(n));
      const t: Json = { name: tail.name, template: tail.template };
      if (plain) t.dependencies = ends;
      else t.depends = ends.map((n) => (this.mayOmit.has(n) ? `(${n}.Succeeded || ${n}.Skipped || ${n}.Daemoned || ${n}.Omitted)` : n)).join(" && ");
      t.when = this.conditionText(tail.when, mode, tail.loc);
      tasks.push(t);
    }
    return { name, dag: { tasks } };
  }

  /** Argo's `depends` text for an IR expression. */
  private dependsText(d: Depends, top = false): string {
    switch (d.kind) {
      case "on": {
        const n = this.names.get(d.step);
        if (d.status === "ok") return this.mayOmit.has(d.step) ? `(${n}.Succeeded || ${n}.Skipped || ${n}.Daemoned || ${n}.Omitted)` : n;
        if (d.status === "any") return `(${n}.Succeeded || ${n}.Failed || ${n}.Errored)`;
        if ((d.status === "anySucceeded" || d.status === "allFailed") && this.wrapped.has(d.step)) {
          this.err(`waiting for ${d.status} of "${d.step}", which runs with a parallelism limit inside a template of its own, cannot be expressed; wait for .Succeeded or .Failed`, this.wf.loc);
        }
        return `${n}.${STATUS_SUFFIX[d.status]}`;
      }
      case "not":
        return `!${this.dependsText(d.of)}`;
      case "and":
      case "or": {
        const text = d.of.map((x) => this.dependsText(x)).join(d.kind === "and" ? " && " : " || ");
        return top ? text : `(${text})`;
      }
    }
  }

  /** A reference as seen from a graph template (`mode` tells steps from tasks). */
  private refPath(r: Ref, mode: Mode): string {
    const rewritten = this.rewrite?.get(JSON.stringify(r));
    if (rewritten !== undefined) return rewritten;
    if (r.kind === "result" && this.wrapped.has(r.step)) return `${mode}.${this.names.get(r.step)}.outputs.parameters.result`;
    switch (r.kind) {
      case "param":
        return `workflow.parameters.${r.name}`;
      case "workflow":
        return `workflow.${r.field}`;
      case "item":
        return r.field !== undefined ? `item.${r.field}` : r.index !== undefined ? `item.v${r.index}` : "item";
      case "result":
        return `${mode}.${this.names.get(r.step)}.outputs.result`;
      case "output":
        return `${mode}.${this.names.get(r.step)}.outputs.parameters.${r.output}`;
    }
  }

  /** A value rendered in a graph template (arguments of a call). */
  private callerText(v: Value, mode: Mode): string {
    const parts: (string | Ref)[] = typeof v === "string" ? [v] : v.kind === "concat" ? [...v.parts] : [v];
    if (needsExpression(parts)) {
      return `{{=${parts.map((p) => (typeof p === "string" ? exprString(p) : this.exprRef(this.refPath(p, mode)))).join(" + ")}}}`;
    }
    return parts.map((p) => (typeof p === "string" ? p : `{{${this.refPath(p, mode)}}}`)).join("");
  }

  /** A dotted path as an expression: hyphenated names need bracket access. */
  private exprRef(path: string): string {
    const [head, ...rest] = path.split(".");
    return head + rest.map((p) => (/^[A-Za-z_][A-Za-z0-9_]*$/.test(p) ? `.${p}` : `['${p}']`)).join("");
  }

  /** Step-context references (outputs of other steps, map items) a step's template receives as inputs. */
  private inputsOf(s: Step): Input[] {
    const seen = new Map<string, Input>();
    const used = new Set<string>();
    const visit = (v: Value) => {
      const refs = typeof v === "string" ? [] : v.kind === "concat" ? v.parts.filter((p): p is Ref => typeof p !== "string") : [v];
      for (const r of refs) {
        if (r.kind !== "result" && r.kind !== "output" && r.kind !== "item") continue;
        const key = JSON.stringify(r);
        if (seen.has(key)) continue;
        const base =
          r.kind === "item"
            ? ["item", r.index !== undefined ? `v${r.index}` : undefined, r.field].filter((x) => x !== undefined).join("-")
            : `${this.names.get(r.step)}-${r.kind === "result" ? "result" : r.output}`;
        let name = base.replace(/[^-a-zA-Z0-9_]/g, "-");
        for (let i = 2; used.has(name); i++) name = `${base}-${i}`;
        used.add(name);
        seen.set(key, { name, ref: r, key });
      }
    };
    for (const v of valuesOfStep(s)) visit(v);
    return [...seen.values()];
  }

  /**
   * A value rendered inside the step's own template. `container`: it goes into a container's
   * command, args or env, where Kubernetes expands `$(VAR)` and `$$`, so each literal `$`
   * is written `$$` (Kubernetes turns it back into one `$`).
   */
  private leafText(v: Value, inputs: Map<string, string>, container = false): string {
    let parts: (string | Ref)[] = typeof v === "string" ? [v] : v.kind === "concat" ? [...v.parts] : [v];
    if (container) parts = parts.map((p, i) => (typeof p === "string" ? kubeLiteral(p, i + 1 < parts.length) : p));
    const path = (r: Ref) =>
      r.kind === "result" || r.kind === "output" || r.kind === "item" ? `inputs.parameters.${inputs.get(JSON.stringify(r))}` : this.refPath(r, "steps");
    if (!needsExpression(parts)) {
      return parts.map((p) => (typeof p === "string" ? p : `{{${path(p)}}}`)).join("");
    }
    // Argo resolves every `{{...}}` and offers no escape: text with `{{` travels as an
    // expression that evaluates to exactly that text.
    return `{{=${parts.map((p) => (typeof p === "string" ? exprString(p) : this.exprRef(path(p)))).join(" + ")}}}`;
  }

  private text(s: string): string {
    return s.includes("{{") ? `{{=${exprString(s)}}}` : s;
  }

  /** An operand of a `when` expression. */
  private operand(v: Value, numeric: boolean, mode: Mode, loc: Step["loc"]): string {
    const parts: (string | Ref)[] = typeof v === "string" ? [v] : v.kind === "concat" ? [...v.parts] : [v];
    for (const p of parts) {
      if (typeof p === "string" && /['\\\n\r]|\{\{|\}\}/.test(p)) {
        this.err(`a condition comparing with text that contains a quote, backslash, newline or braces (${JSON.stringify(p)}) cannot be written safely in an Argo when expression`, loc);
      }
    }
    const text = parts.map((p) => (typeof p === "string" ? p : `{{${this.refPath(p, mode)}}}`)).join("");
    if (numeric) {
      if (typeof v === "string" && !/^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(v)) {
        this.err(`a numeric comparison needs a number, got ${JSON.stringify(v)}`, loc);
      }
      return text;
    }
    return `'${text}'`;
  }

  private conditionText(c: Condition, mode: Mode, loc: Step["loc"], top = true): string {
    switch (c.kind) {
      case "compare": {
        const numeric = c.op !== "eq" && c.op !== "ne";
        return `${this.operand(c.left, numeric, mode, loc)} ${COMPARE[c.op]} ${this.operand(c.right, numeric, mode, loc)}`;
      }
      case "not": {
        // not(a == b) reads better as a != b
        const INVERSE: Record<string, "eq" | "ne" | "gt" | "lt" | "ge" | "le"> = { eq: "ne", ne: "eq", gt: "le", le: "gt", lt: "ge", ge: "lt" };
        if (c.of.kind === "compare") return this.conditionText({ ...c.of, op: INVERSE[c.of.op]! }, mode, loc, top);
        return `!(${this.conditionText(c.of, mode, loc, true)})`;
      }
      case "and":
      case "or": {
        const text = c.of.map((x) => this.conditionText(x, mode, loc, false)).join(c.kind === "and" ? " && " : " || ");
        return top ? text : `(${text})`;
      }
    }
  }

  /** Outer references (other steps' outputs and artifacts) of a wrapped step, with the wrapper's input names. */
  private wrapperInputs(s: Step): { params: { name: string; ref: Ref }[]; artifacts: { name: string; from: string }[] } {
    const params: { name: string; ref: Ref }[] = [];
    const seen = new Set<string>();
    for (const r of refsOfStep(s)) {
      if (r.kind !== "result" && r.kind !== "output") continue;
      const key = JSON.stringify(r);
      if (seen.has(key)) continue;
      seen.add(key);
      params.push({ name: `${this.names.get(r.step)}-${r.kind === "result" ? "result" : r.output}`, ref: r });
    }
    const artifacts = isPodStep(s)
      ? (s.inputArtifacts ?? []).flatMap((a) => (a.from.kind === "step" ? [{ name: a.name, from: `${this.names.get(a.from.step)}.outputs.artifacts.${a.from.artifact}` }] : []))
      : [];
    return { params, artifacts };
  }

  /**
   * A fanned-out step with a parallelism limit: Argo limits parallelism per template, so
   * the step runs inside a `steps` template of its own that carries the limit and passes
   * the aggregated outputs up for fan-in.
   */
  private wrapperTemplate(s: Step): Json {
    const { params, artifacts } = this.wrapperInputs(s);
    this.rewrite = new Map(params.map((p) => [JSON.stringify(p.ref), `inputs.parameters.${p.name}`]));
    let inner: Json;
    try {
      inner = this.callSite(s, "steps", true);
    } finally {
      this.rewrite = undefined;
    }
    const t: Json = { name: this.wrapped.get(s.name)!, parallelism: s.loop!.parallelism };
    if (params.length || artifacts.length) {
      t.inputs = {
        ...(params.length ? { parameters: params.map((p) => ({ name: p.name })) } : {}),
        ...(artifacts.length ? { artifacts: artifacts.map((a) => ({ name: a.name })) } : {}),
      };
    }
    t.steps = [[inner]];
    const task = this.names.get(s.name);
    const outs: Json[] = [];
    if (this.resultRead.has(s.name)) outs.push({ name: "result", valueFrom: { parameter: `{{steps.${task}.outputs.result}}` } });
    for (const o of s.outputs ?? []) outs.push({ name: o.name, valueFrom: { parameter: `{{steps.${task}.outputs.parameters.${o.name}}}` } });
    if (outs.length) t.outputs = { parameters: outs };
    return t;
  }

  /** How a graph template calls step `s` (`inner`: the call inside its parallelism wrapper). */
  private callSite(s: Step, mode: Mode, inner = false): Json {
    const call: Json = { name: this.names.get(s.name) };
    const wrapper = this.wrapped.get(s.name);
    if (wrapper !== undefined && !inner) {
      const { params, artifacts } = this.wrapperInputs(s);
      call.template = wrapper;
      if (params.length || artifacts.length) {
        call.arguments = {
          ...(params.length ? { parameters: params.map((p) => ({ name: p.name, value: `{{${this.refPath(p.ref, mode)}}}` })) } : {}),
          ...(artifacts.length ? { artifacts: artifacts.map((a) => ({ name: a.name, from: `{{${mode}.${a.from}}}` })) } : {}),
        };
      }
      return call;
    }
    const params: Json[] = [];
    const artifacts: Json[] = [];
    if (s.kind === "templateRef") {
      call.templateRef = { name: s.ref.name, template: s.ref.template, ...(s.ref.clusterScope ? { clusterScope: true } : {}) };
      for (const a of s.arguments ?? []) params.push({ name: a.name, value: this.callerText(a.value, mode) });
      if (s.timeout !== undefined || s.retry || s.cache) {
        this.err(`step "${s.name}": a timeout, retry or cache on a template call cannot be set by the caller; set it in the referenced template`, s.loc);
      }
    } else {
      call.template = this.templates.get(s.name)!;
      for (const i of this.inputsOf(s)) params.push({ name: i.name, value: `{{${this.refPath(i.ref, mode)}}}` });
      if (isPodStep(s)) {
        for (const a of s.inputArtifacts ?? []) {
          if (a.from.kind !== "step") continue;
          const from = inner ? `{{inputs.artifacts.${a.name}}}` : `{{${mode}.${this.names.get(a.from.step)}.outputs.artifacts.${a.from.artifact}}}`;
          artifacts.push({ name: a.name, from });
        }
      }
    }
    if (params.length || artifacts.length) {
      const args: Json = {};
      if (params.length) args.parameters = params;
      if (artifacts.length) args.artifacts = artifacts;
      call.arguments = args;
    }
    if (s.when) call.when = this.conditionText(s.when, mode, s.loc);
    if (s.loop?.kind === "items") {
      call.withItems = s.loop.items.map((row) => (row.length === 1 ? row[0] : Object.fromEntries(row.map((v, i) => [`v${i}`, v]))));
    } else if (s.loop?.kind === "from") {
      call.withParam = `{{${this.refPath(s.loop.source, mode)}}}`;
    }
    return call;
  }

  private location(l: ArtifactLocation): [string, Json] {
    const sec = (r: SecretKeyRef | undefined) => (r ? { name: r.secret, key: r.key } : undefined);
    const clean = (o: Json) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
    switch (l.kind) {
      case "s3":
        return ["s3", clean({ bucket: l.bucket, key: l.key, endpoint: l.endpoint, region: l.region, insecure: l.insecure, accessKeySecret: sec(l.accessKey), secretKeySecret: sec(l.secretKey) })];
      case "gcs":
        return ["gcs", clean({ bucket: l.bucket, key: l.key, serviceAccountKeySecret: sec(l.serviceAccountKey) })];
      case "oss":
        return ["oss", clean({ bucket: l.bucket, key: l.key, endpoint: l.endpoint, accessKeySecret: sec(l.accessKey), secretKeySecret: sec(l.secretKey) })];
      case "git":
        return ["git", clean({ repo: l.repo, revision: l.revision, depth: l.depth, usernameSecret: sec(l.username), passwordSecret: sec(l.password), sshPrivateKeySecret: sec(l.sshPrivateKey) })];
      case "http":
        return ["http", { url: l.url }];
    }
  }

  /** The template a step runs, if it has one of its own (template calls do not). */
  private leafTemplate(s: Step): Json | undefined {
    if (s.kind === "templateRef") return undefined;
    const name = this.templates.get(s.name)!;
    if (s.kind === "while") {
      const again = this.names.get(s.name);
      let tailName = `${again}-again`.slice(0, 63);
      const bodyNames = new Set(s.body.map((b) => this.names.get(b.name)));
      while (bodyNames.has(tailName)) tailName = `${tailName.slice(0, 60)}-x`;
      const t = this.graphTemplate(name, s.body, { name: tailName, template: name, when: s.condition, loc: s.loc });
      this.common(s, t, new Map());
      return t;
    }
    const inputs = this.inputsOf(s);
    const inputMap = new Map(inputs.map((i) => [i.key, i.name]));
    const t: Json = { name };
    const inParams = inputs.map((i) => ({ name: i.name }));
    const inArtifacts: Json[] = [];
    if (isPodStep(s)) {
      for (const a of s.inputArtifacts ?? []) {
        const art: Json = { name: a.name, path: a.path };
        if (a.from.kind === "location") {
          const [k, v] = this.location(a.from.location);
          art[k] = v;
        }
        inArtifacts.push(art);
      }
    }
    if (inParams.length || inArtifacts.length) {
      t.inputs = { ...(inParams.length ? { parameters: inParams } : {}), ...(inArtifacts.length ? { artifacts: inArtifacts } : {}) };
    }
    const outParams = (s.outputs ?? []).map((o) => ({
      name: o.name,
      valueFrom: o.jsonPath !== undefined ? { jsonPath: o.jsonPath } : { path: this.text(o.path ?? "") },
    }));
    const outArtifacts = isPodStep(s)
      ? (s.outputArtifacts ?? []).map((a) => {
          const art: Json = { name: a.name, path: this.text(a.path) };
          if (a.store) {
            const [k, v] = this.location(a.store);
            art[k] = v;
          }
          return art;
        })
      : [];
    if (outParams.length || outArtifacts.length) {
      t.outputs = { ...(outParams.length ? { parameters: outParams } : {}), ...(outArtifacts.length ? { artifacts: outArtifacts } : {}) };
    }
    this.common(s, t, inputMap);
    if (s.kind === "resource") {
      const r: Json = { action: s.action, manifest: this.text(s.manifest) };
      if (s.successCondition !== undefined) r.successCondition = s.successCondition;
      if (s.failureCondition !== undefined) r.failureCondition = s.failureCondition;
      if (s.setOwnerReference !== undefined) r.setOwnerReference = s.setOwnerReference;
      t.resource = r;
      return t;
    }
    if (!isPodStep(s)) return t;
    if (s.nodeSelector) t.nodeSelector = { ...s.nodeSelector };
    if (s.tolerations?.length) t.tolerations = s.tolerations.map((x) => ({ ...x }));
    if (s.affinity) t.affinity = s.affinity;
    if (s.daemon) t.daemon = true;
    if (s.sidecars?.length) {
      t.sidecars = s.sidecars.map((sc) => {
        const out: Json = { name: sc.name, image: this.text(sc.image) };
        if (sc.command?.length) out.command = sc.command.map((x) => this.leafText(x, inputMap, true));
        if (sc.args?.length) out.args = sc.args.map((x) => this.leafText(x, inputMap, true));
        if (sc.env?.length) out.env = sc.env.map((e) => ({ name: e.name, value: this.leafText(e.value, inputMap, true) }));
        if (sc.mirrorVolumeMounts) out.mirrorVolumeMounts = true;
        return out;
      });
    }
    const c: Json = { image: this.text(s.image) };
    const render = (v: Value) => this.leafText(v, inputMap, true);
    if (s.command?.length) c.command = s.command.map(render);
    if (s.args?.length) c.args = s.args.map(render);
    const env: Json[] = [];
    for (const e of s.env ?? []) env.push({ name: e.name, value: render(e.value) });
    for (const e of s.secretEnv ?? []) env.push({ name: e.name, valueFrom: { secretKeyRef: { name: e.secret, key: e.key } } });
    if (env.length) c.env = env;
    if (s.resources) {
      const r: Json = {};
      if (s.resources.requests) r.requests = { ...s.resources.requests };
      if (s.resources.limits) r.limits = { ...s.resources.limits };
      c.resources = r;
    }
    if (s.imagePullPolicy) c.imagePullPolicy = s.imagePullPolicy;
    if (s.workingDir !== undefined) c.workingDir = this.text(s.workingDir);
    if (s.volumeMounts?.length) {
      c.volumeMounts = s.volumeMounts.map((m) => ({
        name: m.volume,
        mountPath: m.mountPath,
        ...(m.subPath !== undefined ? { subPath: m.subPath } : {}),
        ...(m.readOnly !== undefined ? { readOnly: m.readOnly } : {}),
      }));
    }
    if (s.securityContext) c.securityContext = s.securityContext;
    if (s.kind === "script") {
      c.source = this.text(s.source);
      t.script = c;
    } else t.container = c;
    return t;
  }

  /** Fields every kind of template takes: timeout, retries, memoization. */
  private common(s: Step, t: Json, inputMap: Map<string, string>): void {
    if (s.timeout !== undefined) t.activeDeadlineSeconds = Math.ceil(s.timeout);
    if (s.retry) {
      const rs: Json = { limit: s.retry.limit };
      const b = s.retry.backoff;
      if (b) {
        const backoff: Json = { duration: `${b.duration}s` };
        if (b.factor !== undefined) {
          if (!Number.isInteger(b.factor)) this.err(`retry backoff factor ${b.factor} must be a whole number`, s.loc);
          backoff.factor = b.factor;
        }
        if (b.maxDuration !== undefined) backoff.maxDuration = `${b.maxDuration}s`;
        rs.backoff = backoff;
      }
      t.retryStrategy = rs;
    }
    if (s.cache) {
      const m: Json = { key: this.leafText(s.cache.key, inputMap), cache: { configMap: { name: s.cache.name } } };
      m.maxAge = s.cache.maxAge !== undefined ? `${s.cache.maxAge}s` : "";
      t.memoize = m;
    }
  }
}

/**
 * The parallel groups of a plain sequence, when the graph is one: the first group has no
 * dependencies and every later group depends on exactly all steps of the group before it
 * (with `ok` edges). Otherwise undefined, and the graph becomes a DAG.
 */
export function stepGroups(steps: readonly Step[] | WorkflowIR): Step[][] | undefined {
  const list = Array.isArray(steps) ? (steps as readonly Step[]) : (steps as WorkflowIR).steps;
  if (!list.every((s) => isPlainAnd(s.depends))) return undefined;
  const key = (names: readonly string[]) => [...names].sort().join("\n");
  const byParents = new Map<string, Step[]>();
  for (const s of list) {
    const k = key(parentsOf(s));
    const group = byParents.get(k) ?? [];
    group.push(s);
    byParents.set(k, group);
  }
  const groups: Step[][] = [];
  let current = byParents.get("");
  let covered = 0;
  while (current && current.length) {
    groups.push(current);
    covered += current.length;
    current = byParents.get(key(current.map((s) => s.name)));
  }
  return covered === list.length && groups.length > 0 ? groups : undefined;
}

export const argoBackend: Backend = {
  name: "argo",
  description: "Argo Workflows: a Workflow, CronWorkflow or WorkflowTemplate manifest (argoproj.io/v1alpha1)",
  capabilities,
  options: {
    "emit-secrets": {
      description: "also write the secrets declared with createSecret() as Secret documents, in a file of their own",
      values: ["true", "false"],
      default: "false",
    },
  },
  compile(wf: WorkflowIR, ctx: CompileContext): OutputFile[] {
    return new ArgoCompiler(wf, ctx).compile();
  },
  joinForStdout(files: readonly OutputFile[]): string {
    return files.map((f) => f.content).join("---\n");
  },
};
