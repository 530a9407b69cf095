/**
 * Argo Workflows backend: one `Workflow` (argoproj.io/v1alpha1) per IR workflow.
 *
 * Shape: an entry template that runs the steps, plus one container or script template per
 * step. The entry is a `steps` template when the graph is a plain sequence of parallel
 * groups (each group waits for all of the previous one), otherwise a `dag` template.
 * Values that read another step's output reach the step's template as input parameters,
 * because only the entry template can see `steps.*` / `tasks.*`.
 */
import type { Backend, CompileContext, OutputFile } from "../backend.js";
import type { Capabilities } from "../../src/ir/features.js";
import { buildGraph, depAtoms, isPlainAnd, isPodStep, parentsOf, topoOrder, valuesOfStep } from "../../src/ir/graph.js";
import type { DepStatus, Depends, Ref, Step, Value, WorkflowIR } from "../../src/ir/types.js";
import { mangle, NameTable, shortHash, type NameRule } from "../common/names.js";
import { toYaml } from "../common/yaml.js";

const capabilities: Capabilities = {
  "container-step": "yes",
  "script-step": "yes",
  param: "yes",
  "step-result": "yes",
  "output-parameter": "yes",
  env: "yes",
  "secret-env": "yes",
  "secret-namespace": {
    warn: "a pod reads secrets from its own namespace only: the secret's namespace is not written into the manifest; run the workflow in that namespace",
  },
  resources: "yes",
  "step-timeout": "yes",
  retry: "yes",
  "retry-backoff": "yes",
  "image-pull-policy": "yes",
  "working-dir": "yes",
  "node-selector": "yes",
  "status-dependency": "yes",
  "depends-expression": "yes",
  "workflow-timeout": "yes",
  "time-to-clean": "yes",
  "service-account": "yes",
  namespace: "yes",
  labels: "yes",
  annotations: "yes",
  "resource-step": { unsupported: "not implemented yet" },
  "template-ref-step": { unsupported: "not implemented yet" },
  "while-loop": { unsupported: "not implemented yet" },
  "resource-output": { unsupported: "not implemented yet" },
  "declared-secret": { unsupported: "not implemented yet" },
  condition: { unsupported: "not implemented yet" },
  "loop-items": { unsupported: "not implemented yet" },
  "loop-from": { unsupported: "not implemented yet" },
  "loop-parallelism": { unsupported: "not implemented yet" },
  "fan-in": { unsupported: "not implemented yet" },
  "exit-handler": { unsupported: "not implemented yet" },
  "workflow-status": { unsupported: "not implemented yet" },
  "workflow-name": { unsupported: "not implemented yet" },
  "artifact-passing": { unsupported: "not implemented yet" },
  "output-artifact": { unsupported: "not implemented yet" },
  "artifact-store": { unsupported: "not implemented yet" },
  "artifact-git": { unsupported: "not implemented yet" },
  "artifact-http": { unsupported: "not implemented yet" },
  volume: { unsupported: "not implemented yet" },
  "volume-mount": { unsupported: "not implemented yet" },
  tolerations: { unsupported: "not implemented yet" },
  affinity: { unsupported: "not implemented yet" },
  "security-context": { unsupported: "not implemented yet" },
  sidecar: { unsupported: "not implemented yet" },
  daemon: { unsupported: "not implemented yet" },
  cache: { unsupported: "not implemented yet" },
  cron: { unsupported: "not implemented yet" },
  "reusable-template": { unsupported: "not implemented yet" },
  parallelism: { unsupported: "not implemented yet" },
  "pod-gc": { unsupported: "not implemented yet" },
  "image-pull-secrets": { unsupported: "not implemented yet" },
  dns: { unsupported: "not implemented yet" },
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

/** `metadata.generateName` prefix: a DNS-1123 subdomain, leaving room for Argo's suffix. */
const WORKFLOW_NAME: NameRule = {
  what: "workflow name",
  target: "argo",
  valid: /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/,
  maxLength: 57,
  fix: (n) => n.toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/-+/g, "-").replace(/^-+|-+$/g, "") || "workflow",
};

type Json = Record<string, unknown>;

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

class ArgoCompiler {
  /** IR step name → Argo task/step name. */
  private readonly names: NameTable;
  /** IR step name → template name (unique; lower-case). */
  private readonly templates = new Map<string, string>();
  private readonly wfName: string;
  private entryName = "";
  private mode: "steps" | "dag" = "dag";
  /** Steps that may end Omitted (their depends can be unmet), so "after" must include Omitted. */
  private mayOmit = new Set<string>();

  constructor(
    private readonly wf: WorkflowIR,
    private readonly ctx: CompileContext,
  ) {
    this.names = new NameTable(TASK_NAME, ctx.diagnostics);
    this.wfName = new NameTable(WORKFLOW_NAME, ctx.diagnostics).add(wf.name, wf.loc);
  }

  compile(): OutputFile {
    const wf = this.wf;
    for (const s of wf.steps) this.names.add(s.name, s.loc);
    let entry = this.wfName.slice(0, 57);
    if (!/^[a-z]/.test(entry)) entry = `w-${entry}`;
    const taken = new Set<string>();
    for (const s of wf.steps) {
      let t = mangle(s.name, TEMPLATE_NAME);
      if (taken.has(t)) t = `${t.slice(0, 54)}-${shortHash(s.name)}`;
      taken.add(t);
      this.templates.set(s.name, t);
    }
    while (taken.has(entry)) entry = `${entry}-main`;
    this.entryName = entry;
    this.mayOmit = mayBeOmitted(wf);

    const groups = stepGroups(wf);
    this.mode = groups ? "steps" : "dag";
    const entryTemplate: Json = { name: this.entryName };
    if (groups) {
      entryTemplate.steps = groups.map((g) => g.map((s) => this.call(s)));
    } else {
      const plain = wf.steps.every((s) => isPlainAnd(s.depends)) && this.mayOmit.size === 0;
      entryTemplate.dag = {
        tasks: wf.steps.map((s) => {
          const call = this.call(s);
          const task: Json = { name: call.name, template: call.template };
          if (s.depends) {
            if (plain) task.dependencies = parentsOf(s).map((p) => this.names.get(p));
            else task.depends = this.dependsText(s.depends, true);
          }
          if (call.arguments) task.arguments = call.arguments;
          return task;
        }),
      };
    }

    const metadata: Json = { generateName: `${this.wfName}-` };
    const c = wf.config;
    if (c.namespace !== undefined) metadata.namespace = c.namespace;
    if (c.labels) metadata.labels = { ...c.labels };
    if (c.annotations) metadata.annotations = { ...c.annotations };
    const spec: Json = { entrypoint: this.entryName };
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
    spec.templates = [entryTemplate, ...wf.steps.map((s) => this.template(s))];
    const doc = { apiVersion: "argoproj.io/v1alpha1", kind: "Workflow", metadata, spec };
    return { path: `${this.wfName}.yaml`, content: toYaml(doc) };
  }

  /** Argo's `depends` text for an IR expression. */
  private dependsText(d: Depends, top = false): string {
    switch (d.kind) {
      case "on": {
        const n = this.names.get(d.step);
        if (d.status === "ok") return this.mayOmit.has(d.step) ? `(${n}.Succeeded || ${n}.Skipped || ${n}.Daemoned || ${n}.Omitted)` : n;
        if (d.status === "any") return `(${n}.Succeeded || ${n}.Failed || ${n}.Errored)`;
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

  /** How the entry template calls step `s`: its name, template and arguments. */
  private call(s: Step): { name: string; template: string; arguments?: Json } {
    const name = this.names.get(s.name);
    const inputs = this.inputsOf(s);
    const out: { name: string; template: string; arguments?: Json } = { name, template: this.templates.get(s.name)! };
    if (inputs.length) {
      out.arguments = {
        parameters: inputs.map((i) => ({ name: i.name, value: `{{${this.refPath(i.ref)}}}` })),
      };
    }
    return out;
  }

  private refPath(r: Ref): string {
    if (r.kind === "param") return `workflow.parameters.${r.name}`;
    if (r.kind === "item") return r.field !== undefined ? `item.${r.field}` : r.index !== undefined ? `item.v${r.index}` : "item";
    if (r.kind === "workflow") return `workflow.${r.field}`;
    const scope = this.mode === "steps" ? "steps" : "tasks";
    const step = this.names.get(r.step);
    return r.kind === "result" ? `${scope}.${step}.outputs.result` : `${scope}.${step}.outputs.parameters.${r.output}`;
  }

  /** The step-output references a step's template receives as inputs, named after what they are. */
  private inputsOf(s: Step): { name: string; ref: Ref; key: string }[] {
    const seen = new Map<string, { name: string; ref: Ref; key: string }>();
    const visit = (v: Value) => {
      const refs = typeof v === "string" ? [] : v.kind === "concat" ? v.parts.filter((p) => typeof p !== "string") : [v];
      for (const r of refs as Ref[]) {
        if (r.kind !== "result" && r.kind !== "output") continue;
        const key = JSON.stringify(r);
        if (seen.has(key)) continue;
        const base = `${this.names.get(r.step)}-${r.kind === "result" ? "result" : r.output}`;
        let name = base;
        for (let i = 2; [...seen.values()].some((x) => x.name === name); i++) name = `${base}-${i}`;
        seen.set(key, { name, ref: r, key });
      }
    };
    for (const v of valuesOfStep(s)) visit(v);
    return [...seen.values()];
  }

  /** A value as text inside the step's own template. */
  private render(v: Value, inputs: Map<string, string>): string {
    const parts: (string | Ref)[] = typeof v === "string" ? [v] : v.kind === "concat" ? [...v.parts] : [v];
    const inner = (r: Ref) => (r.kind === "result" || r.kind === "output" ? `inputs.parameters.${inputs.get(JSON.stringify(r))}` : this.refPath(r));
    const literalNeedsExpr = parts.some((p) => typeof p === "string" && p.includes("{{"));
    if (!literalNeedsExpr) return parts.map((p) => (typeof p === "string" ? p : `{{${inner(p)}}}`)).join("");
    // Argo resolves every `{{...}}` and offers no escape: text with `{{` travels as an
    // expression that evaluates to exactly that text.
    const expr = parts
      .map((p) => {
        if (typeof p === "string") return exprString(p);
        if (p.kind === "param") return `workflow.parameters['${p.name}']`;
        if (p.kind === "result" || p.kind === "output") return `inputs.parameters['${inputs.get(JSON.stringify(p))}']`;
        return this.refPath(p);
      })
      .join(" + ");
    return `{{=${expr}}}`;
  }

  private text(s: string): string {
    return s.includes("{{") ? `{{=${exprString(s)}}}` : s;
  }

  private template(s: Step): Json {
    if (!isPodStep(s)) throw new Error(`internal: argo cannot lower a ${s.kind} step yet`);
    const name = this.templates.get(s.name)!;
    const inputs = this.inputsOf(s);
    const inputMap = new Map(inputs.map((i) => [i.key, i.name]));
    const t: Json = { name };
    if (inputs.length) t.inputs = { parameters: inputs.map((i) => ({ name: i.name })) };
    if (s.outputs?.length) {
      t.outputs = { parameters: s.outputs.map((o) => ({ name: o.name, valueFrom: { path: this.text(o.path ?? "") } })) };
    }
    if (s.nodeSelector) t.nodeSelector = { ...s.nodeSelector };
    if (s.timeout !== undefined) t.activeDeadlineSeconds = Math.ceil(s.timeout);
    if (s.retry) {
      const rs: Json = { limit: s.retry.limit };
      const b = s.retry.backoff;
      if (b) {
        const backoff: Json = { duration: `${b.duration}s` };
        if (b.factor !== undefined) {
          if (!Number.isInteger(b.factor)) {
            this.ctx.diagnostics.error(
              "unsupported",
              `retry backoff factor ${b.factor} is not supported on target argo: Argo takes a whole-number factor`,
              s.loc,
            );
          }
          backoff.factor = b.factor;
        }
        if (b.maxDuration !== undefined) backoff.maxDuration = `${b.maxDuration}s`;
        rs.backoff = backoff;
      }
      t.retryStrategy = rs;
    }
    const c: Json = { image: this.text(s.image) };
    const render = (v: Value) => this.render(v, inputMap);
    if (s.command?.length) c.command = s.command.map(render);
    if (s.kind === "container" && s.args?.length) c.args = s.args.map(render);
    if (s.kind === "script" && s.args?.length) c.args = s.args.map(render);
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
    if (s.kind === "script") {
      c.source = this.text(s.source);
      t.script = c;
    } else t.container = c;
    return t;
  }
}

/**
 * Steps whose `depends` may be unmet, so Argo marks them Omitted: those waiting for a
 * non-default state (`A.Failed`...), and, transitively, those waiting on such a step.
 */
function mayBeOmitted(wf: WorkflowIR): Set<string> {
  const out = new Set<string>();
  const g = buildGraph(wf);
  for (const name of topoOrder(wf, g)) {
    const s = g.byName.get(name);
    if (!s?.depends) continue;
    if (!isPlainAnd(s.depends) || depAtoms(s.depends).some((a) => out.has(a.step))) out.add(name);
  }
  return out;
}

/**
 * The parallel groups of a plain sequence, when the graph is one: the first group has no
 * dependencies and every later group depends on exactly all steps of the group before it
 * (with `ok` edges). Otherwise undefined, and the entry becomes a DAG.
 */
export function stepGroups(wf: WorkflowIR): Step[][] | undefined {
  if (!wf.steps.every((s) => isPlainAnd(s.depends))) return undefined;
  const key = (names: readonly string[]) => [...names].sort().join("\n");
  const byParents = new Map<string, Step[]>();
  for (const s of wf.steps) {
    const k = key(parentsOf(s));
    const list = byParents.get(k) ?? [];
    list.push(s);
    byParents.set(k, list);
  }
  const groups: Step[][] = [];
  let current = byParents.get("");
  let covered = 0;
  while (current && current.length) {
    groups.push(current);
    covered += current.length;
    current = byParents.get(key(current.map((s) => s.name)));
  }
  return covered === wf.steps.length && groups.length > 0 ? groups : undefined;
}

export const argoBackend: Backend = {
  name: "argo",
  description: "Argo Workflows: a Workflow manifest (argoproj.io/v1alpha1)",
  capabilities,
  options: {},
  compile(wf: WorkflowIR, ctx: CompileContext): OutputFile[] {
    return [new ArgoCompiler(wf, ctx).compile()];
  },
  joinForStdout(files: readonly OutputFile[]): string {
    return files.map((f) => f.content).join("---\n");
  },
};
