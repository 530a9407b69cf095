/**
 * Argo Workflows backend: a `Workflow` (argoproj.io/v1alpha1) per IR workflow, or a
 * `CronWorkflow` (cron schedule) or `WorkflowTemplate` (reusable).
 *
 * Shape: one "graph" template per step graph (the main graph, each execWhile body, the exit
 * handler), plus one leaf template per container, script or resource step. A graph
 * template is a `steps` template when its graph is a plain sequence of parallel groups,
 * otherwise a `dag` (graph-shape.ts). Values that read another step's output or a map item
 * reach the leaf template as input parameters, because only the graph template can see
 * `steps.*`, `tasks.*` and `item`. The engine rules each part relies on are listed in
 * backends/argo/README.md and in the module that relies on them.
 */
import type { Backend, CompileContext, OutputFile } from "../backend.js";
import { allSteps, depAtoms, isPodStep, parentsOf, refsOfStep, refsOfValue, sinks, valuesOfCondition } from "../../src/ir/graph.js";
import type { Condition, Ref, Step, Value, WhileStep, WorkflowIR } from "../../src/ir/types.js";
import { mangle, NameTable, shortHash } from "../common/names.js";
import { kubeLiteral } from "../common/kube.js";
import { capabilities } from "./capabilities.js";
import { whenText } from "./conditions.js";
import { workflowFiles } from "./document.js";
import { exprRef, exprString, needsExpression } from "./expr-text.js";
import { elementExpr, fanInParam, fanInTerm } from "./fan-in.js";
import { dependsText, isPlainGraph, statusDepends, stepGroups } from "./graph-shape.js";
import { warnRunDifferences } from "./checks.js";
import { commonFields, leafTemplate, type LeafContext } from "./leaf.js";
import { inputsOf } from "./inputs.js";
import { TASK_NAME, TEMPLATE_NAME, WORKFLOW_NAME } from "./names.js";

export { stepGroups };

type Json = Record<string, unknown>;
type Mode = "steps" | "tasks";

class ArgoCompiler {
  /** IR step name → Argo task/step name. */
  private readonly names: NameTable;
  /** IR step name → template name (unique, lower-case); graph templates too. */
  private readonly templates = new Map<string, string>();
  private readonly takenTemplates = new Set<string>();
  private readonly wfName: string;
  /** Fanned-out steps with a parallelism limit: each runs inside a wrapper template of its own. */
  private readonly wrapped = new Map<string, string>();
  /** Fanned-out steps whose values other steps read (fan-in): each item runs in an item template (fan-in.ts). */
  private readonly itemTemplates = new Map<string, string>();
  /** For each such step, the values read: `undefined` for `.result`, else the output's name. */
  private readonly fanIn = new Map<string, Set<string | undefined>>();
  /** The status template (graph-shape.ts), allocated when a graph needs it. */
  private statusTemplate: string | undefined;
  /** While writing a wrapper's inner call: how outer references appear there. */
  private rewrite: Map<string, string> | undefined;
  private readonly leafCtx: LeafContext;

  constructor(
    private readonly wf: WorkflowIR,
    private readonly ctx: CompileContext,
  ) {
    this.names = new NameTable(TASK_NAME, ctx.diagnostics);
    this.wfName = new NameTable(WORKFLOW_NAME, ctx.diagnostics).add(wf.name, wf.loc);
    this.leafCtx = {
      template: (step) => this.templates.get(step)!,
      leafText: (v, inputs, container) => this.leafText(v, inputs, container),
      text: (s) => this.text(s),
      inputs: (s) => inputsOf(s, this.nameOf),
      err: (m, loc) => this.err(m, loc),
      warn: (m, loc) => this.ctx.diagnostics.warning("argo-runtime", `${m} (target argo)`, loc),
    };
  }

  private readonly nameOf = (step: string): string => this.names.get(step);

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
    const byName = new Map(allSteps(wf).map((s) => [s.name, s] as const));
    for (const s of allSteps(wf)) {
      const refs = [...refsOfStep(s), ...(s.kind === "while" ? valuesOfCondition(s.condition).flatMap((v) => refsOfValue(v)) : [])];
      for (const r of refs) {
        if ((r.kind !== "result" && r.kind !== "output") || r.step === s.name || byName.get(r.step)?.loop === undefined) continue;
        const set = this.fanIn.get(r.step) ?? new Set();
        set.add(r.kind === "result" ? undefined : r.output);
        this.fanIn.set(r.step, set);
      }
      if (s.loop?.parallelism !== undefined) this.wrapped.set(s.name, this.allocTemplate(`${s.name}-loop`));
      if (refs.some((r) => r.kind === "workflow" && r.field === "name")) {
        this.leafCtx.warn(`step "${s.name}" reads the workflow's name: on Argo workflow.name is the name of the run (generateName plus 5 random characters), where couler run gives "${wf.name}"`, s.loc);
      }
    }
    warnRunDifferences([...byName.values()], this.leafCtx.warn);
    for (const [step] of [...this.fanIn].sort(([a], [b]) => (a < b ? -1 : 1))) {
      const s = byName.get(step)!;
      this.itemTemplates.set(step, this.allocTemplate(`${step}-item`));
      this.leafCtx.warn(
        `the fan-in list of "${step}" is JSON written by Argo (Go): "<", ">" and "&" in values arrive as \\u003c, \\u003e, \\u0026, and object keys sorted, where couler run writes them as they are`,
        s.loc,
      );
    }
    let entry = this.wfName.slice(0, 57);
    if (!/^[a-z]/.test(entry)) entry = `w-${entry}`;
    while (this.takenTemplates.has(entry)) entry = `${entry}-main`;
    this.takenTemplates.add(entry);

    const templates: Json[] = [this.graphTemplate(entry, wf.steps)];
    let exitName: string | undefined;
    if (wf.onExit?.length) {
      exitName = this.allocTemplate("exit-handler");
      templates.push(this.graphTemplate(exitName, wf.onExit));
    }
    const leaves = (steps: readonly Step[]) => {
      for (const s of steps) {
        const t = s.kind === "while" ? this.whileTemplate(s) : leafTemplate(s, this.leafCtx);
        if (t) templates.push(t);
        if (s.kind === "while") leaves(s.body);
      }
    };
    leaves(all);
    for (const s of allSteps(wf)) {
      if (this.itemTemplates.has(s.name)) templates.push(this.itemTemplate(s));
      if (this.wrapped.has(s.name)) templates.push(this.wrapperTemplate(s));
    }
    if (this.statusTemplate) templates.push({ name: this.statusTemplate, suspend: { duration: "0" } });
    return workflowFiles(wf, this.ctx, this.wfName, entry, exitName, templates);
  }

  /** A `steps` or `dag` template running `steps`; `tail` is an extra call after all of them (while loops). */
  private graphTemplate(name: string, steps: readonly Step[], tail?: { name: string; template: string; when: Condition }): Json {
    const groups = stepGroups(steps);
    if (groups) {
      const mode: Mode = "steps";
      const body = groups.map((g) => g.map((s) => this.callSite(s, mode)));
      if (tail) body.push([{ name: tail.name, template: tail.template, when: this.whenOf(tail.when, mode) }]);
      return { name, steps: body };
    }
    const mode: Mode = "tasks";
    const plain = isPlainGraph(steps);
    const nameOf = (n: string) => this.names.get(n);
    const tasks: Json[] = steps.map((s) => {
      const call = this.callSite(s, mode);
      const task: Json = { name: call.name };
      for (const [k, v] of Object.entries(call)) if (k !== "name") task[k] = v;
      if (s.depends) {
        if (plain) task.dependencies = parentsOf(s).map(nameOf);
        else {
          for (const a of depAtoms(s.depends)) {
            if ((a.status === "anySucceeded" || a.status === "allFailed") && this.wrapped.has(a.step)) {
              this.err(`waiting for ${a.status} of "${a.step}", which runs with a parallelism limit inside a template of its own, cannot be expressed; wait for .Succeeded or .Failed`, s.loc);
            }
          }
          task.depends = dependsText(s.depends, nameOf, true);
        }
      }
      return task;
    });
    let status: string | undefined;
    if (!plain) {
      // The DAG's only leaf, deciding its phase as the IR does (graph-shape.ts).
      const taken = new Set(steps.map((s) => nameOf(s.name)));
      status = "couler-status";
      for (let i = 2; taken.has(status) || status === tail?.name; i++) status = `couler-status-${i}`;
      this.statusTemplate ??= this.allocTemplate("couler-status");
      tasks.push({ name: status, template: this.statusTemplate, depends: statusDepends(steps, nameOf) });
    }
    if (tail) {
      const t: Json = { name: tail.name, template: tail.template };
      if (status) t.depends = status;
      else t.dependencies = sinks(steps).map(nameOf);
      t.when = this.whenOf(tail.when, mode);
      tasks.push(t);
    }
    return { name, dag: { tasks } };
  }

  private whileTemplate(s: WhileStep): Json {
    const again = this.names.get(s.name);
    let tailName = `${again}-again`.slice(0, 63);
    const bodyNames = new Set(s.body.map((b) => this.names.get(b.name)));
    while (bodyNames.has(tailName)) tailName = `${tailName.slice(0, 60)}-x`;
    const t = this.graphTemplate(this.templates.get(s.name)!, s.body, { name: tailName, template: this.templates.get(s.name)!, when: s.condition });
    commonFields(s, t, new Map(), this.leafCtx);
    return t;
  }

  /** A reference as a plain path seen from a graph template (`mode` tells steps from tasks). */
  private refPath(r: Ref, mode: Mode): string {
    const rewritten = this.rewrite?.get(JSON.stringify(r));
    if (rewritten !== undefined) return rewritten;
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

  /** A fan-in reference (another step's value, read from a fanned-out step)? */
  private isFanIn(r: Ref): r is Extract<Ref, { kind: "result" | "output" }> {
    return (r.kind === "result" || r.kind === "output") && this.itemTemplates.has(r.step) && !this.rewrite?.has(JSON.stringify(r));
  }

  /** A reference as an expr-lang term. */
  private refTerm(r: Ref, mode: Mode): string {
    if (this.isFanIn(r)) {
      return fanInTerm(`${mode}.${this.names.get(r.step)}.outputs.parameters.${fanInParam(r.kind === "result" ? undefined : r.output)}`);
    }
    return exprRef(this.refPath(r, mode));
  }

  /** A reference as a whole field value. */
  private refTag(r: Ref, mode: Mode): string {
    return this.isFanIn(r) ? `{{=${this.refTerm(r, mode)}}}` : `{{${this.refPath(r, mode)}}}`;
  }

  private whenOf(c: Condition, mode: Mode): string {
    return whenText(c, (r) => this.refTerm(r, mode));
  }

  /** A value rendered in a graph template (arguments of a call). */
  private callerText(v: Value, mode: Mode): string {
    const parts: (string | Ref)[] = typeof v === "string" ? [v] : v.kind === "concat" ? [...v.parts] : [v];
    if (needsExpression(parts) || parts.some((p) => typeof p !== "string" && this.isFanIn(p))) {
      return `{{=${parts.map((p) => (typeof p === "string" ? exprString(p) : this.refTerm(p, mode))).join(" + ")}}}`;
    }
    return parts.map((p) => (typeof p === "string" ? p : `{{${this.refPath(p, mode)}}}`)).join("");
  }

  /**
   * A value rendered inside the step's own template. `container`: it goes into a container's
   * command, args or env, where Kubernetes expands `$(VAR)` and `$$`, so each literal `$`
   * is written `$$` (Kubernetes turns it back into one `$`).
   */
  private leafText(v: Value, inputs: ReadonlyMap<string, string>, container = false): string {
    let parts: (string | Ref)[] = typeof v === "string" ? [v] : v.kind === "concat" ? [...v.parts] : [v];
    if (container) parts = parts.map((p, i) => (typeof p === "string" ? kubeLiteral(p, i + 1 < parts.length) : p));
    const path = (r: Ref) =>
      r.kind === "result" || r.kind === "output" || r.kind === "item" ? `inputs.parameters.${inputs.get(JSON.stringify(r))}` : this.refPath(r, "steps");
    if (!needsExpression(parts)) {
      return parts.map((p) => (typeof p === "string" ? p : `{{${path(p)}}}`)).join("");
    }
    // Argo resolves every `{{...}}` and offers no escape: text with `{{` travels as an
    // expression that evaluates to exactly that text.
    return `{{=${parts.map((p) => (typeof p === "string" ? exprString(p) : exprRef(path(p)))).join(" + ")}}}`;
  }

  private text(s: string): string {
    return s.includes("{{") ? `{{=${exprString(s)}}}` : s;
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

  /** Output parameters passing an inner call's fan-in values up (item and wrapper templates). */
  private fanInOutputs(s: Step, from: (param: string, value: string | undefined) => Json): Json[] {
    return [...(this.fanIn.get(s.name) ?? [])].sort((a, b) => ((a ?? "") < (b ?? "") ? -1 : 1)).map((v) => from(fanInParam(v), v));
  }

  /**
   * A fanned-out step with a parallelism limit: Argo limits parallelism per template, so
   * the step runs inside a `steps` template of its own that carries the limit and passes
   * the aggregated fan-in values up.
   */
  private wrapperTemplate(s: Step): Json {
    const { params, artifacts } = this.wrapperInputs(s);
    this.rewrite = new Map(params.map((p) => [JSON.stringify(p.ref), `inputs.parameters.${p.name}`]));
    let inner: Json;
    try {
      inner = this.callSite(s, "steps", "wrapper");
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
    const outs = this.fanInOutputs(s, (name) => ({ name, valueFrom: { parameter: `{{steps.${task}.outputs.parameters.${name}}}` } }));
    if (outs.length) t.outputs = { parameters: outs };
    return t;
  }

  /** The item template of a fan-in step (fan-in.ts): runs one item and exports its values as list elements. */
  private itemTemplate(s: Step): Json {
    const inputs = inputsOf(s, this.nameOf);
    const task = this.names.get(s.name);
    const inArtifacts = isPodStep(s) ? (s.inputArtifacts ?? []).filter((a) => a.from.kind === "step").map((a) => a.name) : [];
    const t: Json = { name: this.itemTemplates.get(s.name)! };
    if (inputs.length || inArtifacts.length) {
      t.inputs = {
        ...(inputs.length ? { parameters: inputs.map((i) => ({ name: i.name })) } : {}),
        ...(inArtifacts.length ? { artifacts: inArtifacts.map((name) => ({ name })) } : {}),
      };
    }
    const call: Json = { name: task, template: this.templates.get(s.name)! };
    if (inputs.length || inArtifacts.length) {
      call.arguments = {
        ...(inputs.length ? { parameters: inputs.map((i) => ({ name: i.name, value: `{{inputs.parameters.${i.name}}}` })) } : {}),
        ...(inArtifacts.length ? { artifacts: inArtifacts.map((name) => ({ name, from: `{{inputs.artifacts.${name}}}` })) } : {}),
      };
    }
    t.steps = [[call]];
    t.outputs = { parameters: this.fanInOutputs(s, (name, v) => ({ name, valueFrom: { expression: elementExpr(task, v) } })) };
    return t;
  }

  /** How a graph template calls step `s` (`wrapper`: the call inside its parallelism wrapper). */
  private callSite(s: Step, mode: Mode, inside?: "wrapper"): Json {
    const call: Json = { name: this.names.get(s.name) };
    const wrapper = this.wrapped.get(s.name);
    if (wrapper !== undefined && inside === undefined) {
      const { params, artifacts } = this.wrapperInputs(s);
      call.template = wrapper;
      if (params.length || artifacts.length) {
        call.arguments = {
          ...(params.length ? { parameters: params.map((p) => ({ name: p.name, value: this.refTag(p.ref, mode) })) } : {}),
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
      call.template = this.itemTemplates.get(s.name) ?? this.templates.get(s.name)!;
      for (const i of inputsOf(s, this.nameOf)) params.push({ name: i.name, value: this.refTag(i.ref, mode) });
      if (isPodStep(s)) {
        for (const a of s.inputArtifacts ?? []) {
          if (a.from.kind !== "step") continue;
          const from = inside ? `{{inputs.artifacts.${a.name}}}` : `{{${mode}.${this.names.get(a.from.step)}.outputs.artifacts.${a.from.artifact}}}`;
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
    if (s.when) call.when = this.whenOf(s.when, mode);
    if (s.loop?.kind === "items") {
      call.withItems = s.loop.items.map((row) => (row.length === 1 ? row[0] : Object.fromEntries(row.map((v, i) => [`v${i}`, v]))));
    } else if (s.loop?.kind === "from") {
      call.withParam = this.refTag(s.loop.source, mode);
    }
    return call;
  }
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
