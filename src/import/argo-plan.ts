/**
 * An Argo Workflow, WorkflowTemplate or CronWorkflow document → an import plan: the DSL
 * program a person would write for it.
 *
 * - `steps` templates: one statement per group, `concurrent([...])` for a group of several;
 *   `dag` templates: one `setDependencies(() => step, deps)` per task, depends text kept.
 * - Leaf templates become `runContainer` / `runScript` / `runJob` calls (`plan-leaf.ts`), or a
 *   local helper function when several calls use the same template; `templateRef` is `runTemplate`.
 * - `when` → `when(predicate, …)`; `withItems` / `withParam` / `withSequence` → `map`; a graph
 *   template that calls itself last → `execWhile`; a one-call template with `parallelism`
 *   (the backend's wrapper) → `map(…, { parallelism })`; `onExit` → `setExitHandler`.
 */
import { elementExpr } from "../../backends/argo/fan-in.js";
import { error, type Diagnostic } from "../diagnostics.js";
import { dependsNames, dslDepends, parseWhen, textParts } from "./argo-text.js";
import { leftovers, PlanContext, type Obj } from "./plan-context.js";
import { isLeaf, leafCall } from "./plan-leaf.js";
import { exitStatus, predicateCode, refCode, valueCode, type ItemScope, type ValueScope, type Wrappers } from "./plan-values.js";
import { planWorkflowParts } from "./plan-workflow.js";
import { arr, arrow, call, jsonCode, obj, raw, str, type Code, type Helper, type ImportPlan, type Stmt } from "./plan.js";
import type { Path, YamlDoc } from "./yaml-source.js";

export const ARGO_KINDS = ["Workflow", "WorkflowTemplate", "CronWorkflow"];
const CALL_KEYS = ["name", "template", "templateRef", "arguments", "when", "withItems", "withParam", "withSequence", "depends", "dependencies"];

interface Tpl {
  readonly t: Obj;
  readonly path: Path;
}

/** Plan one document; diagnostics hold errors (no plan) or warnings (fields left as notes). */
export function planArgoDocument(doc: YamlDoc): { plan?: ImportPlan; diagnostics: Diagnostic[] } {
  const d = doc.data as Obj;
  const fail = (message: string, path: Path = []) => ({ diagnostics: [error("not-argo", message, doc.locate(path))] });
  if (!d || typeof d !== "object" || Array.isArray(d)) return fail("not an Argo workflow: the document is not a mapping");
  if (typeof d.apiVersion !== "string" || !d.apiVersion.startsWith("argoproj.io/")) {
    return fail(`not an Argo workflow: apiVersion ${JSON.stringify(d.apiVersion ?? null)} (expected argoproj.io/v1alpha1)`, d.apiVersion !== undefined ? ["apiVersion"] : []);
  }
  if (!ARGO_KINDS.includes(d.kind)) {
    return fail(`not an Argo workflow: kind ${JSON.stringify(d.kind ?? null)} (one of ${ARGO_KINDS.join(", ")})`, d.kind !== undefined ? ["kind"] : []);
  }
  const specPath: Path = d.kind === "CronWorkflow" ? ["spec", "workflowSpec"] : ["spec"];
  const spec = (d.kind === "CronWorkflow" ? d.spec?.workflowSpec : d.spec) as Obj | undefined;
  if (!spec || !Array.isArray(spec.templates)) return fail(`${d.kind} without ${specPath.join(".")}.templates`, specPath.slice(0, 1));
  const name = String(d.metadata?.name ?? String(d.metadata?.generateName ?? "").replace(/-$/, ""));
  if (!/^[A-Za-z0-9][A-Za-z0-9_-]*$/.test(name)) return fail(`${d.kind} without a usable metadata.name or generateName (got ${JSON.stringify(name)})`, ["metadata"]);
  const templates = new Map<string, Tpl>();
  (spec.templates as Obj[]).forEach((t, i) => templates.set(String(t?.name), { t, path: [...specPath, "templates", i] }));
  if (!templates.has(spec.entrypoint)) {
    return fail(`entrypoint ${JSON.stringify(spec.entrypoint ?? null)} names no template`, spec.entrypoint !== undefined ? [...specPath, "entrypoint"] : specPath);
  }
  const ctx = new PlanContext(doc, specPath);
  const planner = new GraphPlanner(ctx, templates);
  const { options, prelude } = planWorkflowParts(ctx, d, spec, specPath);
  const main = planner.entry(String(spec.entrypoint));
  const exit = spec.onExit !== undefined ? planner.exit(String(spec.onExit), [...specPath, "onExit"]) : [];
  const body: Stmt[] = [...prelude, ...planner.helperStmts(), ...ctx.hoisted, ...main, ...exit];
  const plan: ImportPlan = {
    path: `${name}.ts`,
    workflowName: name,
    header: [`Imported from Argo ${d.kind} ${JSON.stringify(name)} by \`couler import\`.`],
    body,
    ...(options ? { options } : {}),
    notes: ctx.topNotes,
    imports: ctx.imports,
    typeImports: ctx.typeImports,
  };
  return { plan, diagnostics: ctx.diagnostics };
}

const isGraph = (t: Obj | undefined): boolean => !!t && (t.steps !== undefined || t.dag !== undefined);

/** The calls of a graph template, in order, each with its path. */
function callsOf(tp: Tpl): { c: Obj; path: Path }[] {
  const t = tp.t;
  if (t.steps) return (t.steps as Obj[][]).flatMap((g, i) => (g ?? []).map((c, j) => ({ c, path: [...tp.path, "steps", i, j] })));
  return ((t.dag?.tasks ?? []) as Obj[]).map((c, i) => ({ c, path: [...tp.path, "dag", "tasks", i] })).filter(({ c }) => !statusTemplates.has(String(c.template)));
}

/**
 * Templates that are the Argo backend's status task (backends/argo/argo-backend.ts): a
 * `couler-status…` template that only suspends for 0 seconds, the DAG's last task deciding
 * its phase. Its calls are dropped: the DSL's dependencies say the same, and the backend
 * writes it again. Set while a workflow is planned.
 */
let statusTemplates: ReadonlySet<string> = new Set();

function findStatusTemplates(templates: ReadonlyMap<string, Tpl>): Set<string> {
  const out = new Set<string>();
  for (const [name, tp] of templates) {
    const keys = Object.keys(tp.t);
    const sus = tp.t.suspend as Obj | undefined;
    if (/^couler-status(-\d+)?$/.test(name) && keys.every((k) => k === "name" || k === "suspend") && sus && Object.keys(sus).length === 1 && String(sus.duration) === "0") out.add(name);
  }
  return out;
}

class GraphPlanner {
  private readonly wrappers: Wrappers = new Map();
  private readonly helpers = new Map<string, { name: string; fn?: Helper; params: { input: string; kind: "param" | "artifact"; def?: unknown }[] }>();
  private readonly helperOrder: string[] = [];
  private readonly stepNames = new Set<string>();

  constructor(
    private readonly ctx: PlanContext,
    private readonly templates: ReadonlyMap<string, Tpl>,
  ) {
    statusTemplates = findStatusTemplates(templates);
    const counts = new Map<string, number>();
    const referenced = new Set<string>();
    for (const tp of templates.values()) {
      if (!isGraph(tp.t)) continue;
      for (const { c } of callsOf(tp)) {
        if (c.template === tp.t.name) continue; // a loop's next round
        if (typeof c.template === "string") counts.set(c.template, (counts.get(c.template) ?? 0) + 1);
        const text = JSON.stringify({ a: c.arguments, w: c.when, p: c.withParam });
        for (const m of text.matchAll(/(?:steps|tasks)(?:\.([A-Za-z0-9_-]+)|\['([A-Za-z0-9_.-]+)'\])\.outputs\b/g)) referenced.add((m[1] ?? m[2])!);
        const callee = templates.get(c.template);
        if (callee && this.isWrapper(callee)) {
          const inner = callsOf(callee)[0]!.c;
          const outs = new Map<string, { step: string; out: string }>();
          for (const o of (callee.t.outputs?.parameters ?? []) as Obj[]) {
            const m = /^\{\{(?:steps|tasks)\.([A-Za-z0-9_-]+)\.outputs\.(result|parameters\.(.+))\}\}$/.exec(String(o.valueFrom?.parameter ?? ""));
            if (m && m[1] === inner.name) outs.set(String(o.name), { step: String(c.name), out: m[3] ?? "result" });
          }
          this.wrappers.set(String(c.name), outs);
        }
      }
    }
    for (const [name, n] of counts) {
      const tp = templates.get(name);
      if (n > 1 && tp && isLeaf(tp.t)) {
        this.helpers.set(name, { name: ctx.fresh(name), params: [] });
        this.helperOrder.push(name);
      }
    }
    for (const s of [...referenced].sort()) ctx.handles.set(s, ctx.fresh(s));
  }

  /** A fan-in item template: one plain call of a leaf whose values it exports as marked JSON elements. */
  private isItemTemplate(tp: Tpl): boolean {
    const t = tp.t;
    const groups = t.steps as Obj[][] | undefined;
    if (!groups || groups.length !== 1 || groups[0]?.length !== 1) return false;
    const inner = groups[0][0]!;
    if (inner.withItems !== undefined || inner.withParam !== undefined || inner.when !== undefined || typeof inner.template !== "string") return false;
    const leaf = this.templates.get(inner.template);
    if (!leaf || !isLeaf(leaf.t)) return false;
    const outs = (t.outputs?.parameters ?? []) as Obj[];
    if (!outs.length || Object.keys(t.outputs).length !== 1) return false;
    return outs.every((o) => {
      const name = String(o.name);
      const value = name === "couler-result" ? undefined : name.startsWith("couler-out-") ? name.slice("couler-out-".length) : null;
      return value !== null && o.valueFrom?.expression === elementExpr(String(inner.name), value);
    });
  }

  private isWrapper(tp: Tpl): boolean {
    const calls = callsOf(tp);
    return isGraph(tp.t) && tp.t.parallelism !== undefined && calls.length === 1 && calls[0]!.c.template !== tp.t.name && (calls[0]!.c.withItems !== undefined || calls[0]!.c.withParam !== undefined);
  }

  private scope(inputs: ReadonlyMap<string, Code> = new Map(), item?: ItemScope): ValueScope {
    return { inputs, wrappers: this.wrappers, ...(item ? { item } : {}) };
  }

  /** The entry template (and the exit handler) receive the workflow's arguments as their inputs. */
  private topCall(name: string): Obj {
    const params = [...this.ctx.params.keys()].map((p) => ({ name: p, value: `{{workflow.parameters.${p}}}` }));
    return { name, template: name, ...(params.length ? { arguments: { parameters: params } } : {}) };
  }

  private topScope(): ValueScope {
    return this.scope(new Map([...this.ctx.params].map(([p, v]) => [p, raw(v)])));
  }

  entry(name: string): Stmt[] {
    const tp = this.templates.get(name)!;
    if (isGraph(tp.t)) {
      if (callsOf(tp).some(({ c }) => c.template === name)) {
        // the entry template itself loops: the whole workflow is one execWhile
        return this.callStmts(this.topCall(name), tp.path, this.scope(), false);
      }
      for (const k of leftovers(tp.t, ["name", "steps", "dag", "inputs"])) this.ctx.topNotes.push(...this.ctx.drop([...tp.path, k], `template "${name}": ${k}`, tp.t[k], "the main graph has no such option"));
      return this.graph(tp, this.topScope(), false);
    }
    return this.callStmts(this.topCall(name), tp.path, this.scope(), false);
  }

  exit(name: string, at: Path): Stmt[] {
    const tp = this.templates.get(name);
    const handler = this.ctx.use("setExitHandler");
    if (!tp) {
      this.ctx.topNotes.push(...this.ctx.drop(at, "onExit", name, "names no template"));
      return [];
    }
    const calls = isGraph(tp.t) ? callsOf(tp) : [];
    const oneGroup = tp.t.steps !== undefined && (tp.t.steps as Obj[][]).length === 1;
    if (oneGroup && calls.every(({ c }) => c.when === undefined || exitStatus(c.when) !== undefined)) {
      return calls.map(({ c, path }) => {
        const status = c.when !== undefined ? exitStatus(c.when) : undefined;
        const inner = this.callStmts({ ...c, when: undefined }, path, this.scope(), true);
        const fn = arrow(unwrap(inner));
        return { k: "expr", e: status ? call(handler, raw(`${this.ctx.use("WFStatus")}.${status}`), fn) : call(handler, fn) };
      });
    }
    const body = isGraph(tp.t) ? this.graph(tp, this.topScope(), true) : this.callStmts(this.topCall(name), tp.path, this.scope(), true);
    return [{ k: "expr", e: call(handler, arrow(unwrap(body))) }];
  }

  helperStmts(): Stmt[] {
    return this.helperOrder.map((n) => this.helperFor(n)).map((fn) => ({ k: "fn", fn }));
  }

  /** The helper function for a template called from several places. */
  private helperFor(template: string): Helper {
    const h = this.helpers.get(template)!;
    if (h.fn) return h.fn;
    const tp = this.templates.get(template)!;
    const inputs = new Map<string, Code>();
    const artifacts = new Map<string, Code>();
    const params: { name: string; type: string }[] = [{ name: "stepName", type: "string" }];
    for (const p of (tp.t.inputs?.parameters ?? []) as Obj[]) {
      const v = this.ctx.fresh(String(p.name));
      inputs.set(String(p.name), raw(v));
      params.push({ name: v, type: this.ctx.useType("Input") });
      h.params.push({ input: String(p.name), kind: "param", def: p.value });
    }
    for (const a of (tp.t.inputs?.artifacts ?? []) as Obj[]) {
      if (["s3", "gcs", "oss", "git", "http"].some((k) => a[k] !== undefined)) continue;
      const v = this.ctx.fresh(String(a.name));
      artifacts.set(String(a.name), raw(v));
      params.push({ name: v, type: this.ctx.useType("ArtifactRef") });
      h.params.push({ input: String(a.name), kind: "artifact" });
    }
    const leaf = leafCall(this.ctx, tp.t, tp.path, { stepName: raw("stepName"), scope: this.scope(inputs), artifacts });
    h.fn = {
      name: h.name,
      doc: `Template "${template}", called from several steps.`,
      params,
      body: [{ k: "return", e: leaf.code, notes: leaf.notes }],
    };
    return h.fn;
  }

  /** The statements of a `steps` or `dag` template, without a loop's own next-round call. */
  graph(tp: Tpl, scope: ValueScope, nested: boolean): Stmt[] {
    const self = String(tp.t.name);
    const out: Stmt[] = [];
    if (tp.t.steps) {
      (tp.t.steps as Obj[][]).forEach((group, i) => {
        const calls = (group ?? []).map((c, j) => ({ c, path: [...tp.path, "steps", i, j] })).filter(({ c }) => c.template !== self);
        const pair = calls.length === 2 ? this.whenOtherwise(calls[0]!, calls[1]!, scope) : undefined;
        if (pair) out.push(pair);
        else if (calls.length === 1) out.push(...this.callStmts(calls[0]!.c, calls[0]!.path, scope, nested));
        else if (calls.length > 1) {
          const branches = calls.map(({ c, path }) => arrow(unwrap(this.callStmts(c, path, scope, true))));
          out.push({ k: "expr", e: call(this.ctx.use("concurrent"), arr(branches)) });
        }
      });
      return out;
    }
    const tasks = callsOf(tp).filter(({ c }) => c.template !== self);
    // Argo's bare name (Succeeded, Skipped or Daemoned) is the DSL's bare name: kept as written
    // a task left out: tasks after it wait for what it waited for, so the program still loads
    const dropped = new Map<string, string[]>();
    const through = (names: readonly string[]) => [...new Set(names.flatMap((n) => dropped.get(n) ?? [n]))];
    for (const { c, path } of topo(tasks)) {
      const inner = this.callStmts(c, path, scope, true);
      let list = ((c.dependencies ?? []) as unknown[]).map(String);
      let text = c.depends !== undefined ? dslDepends(String(c.depends)) : undefined;
      const plainText = text !== undefined && /^[A-Za-z0-9_-]+( && [A-Za-z0-9_-]+)*$/.test(text);
      if (text !== undefined && dependsNames(text).some((n) => dropped.has(n))) {
        if (plainText) text = through(text.split(" && ")).join(" && ");
        else this.ctx.warn([...path, "depends"], `step "${c.name}" depends on a step that was left out, in a way that cannot be rewired`);
      }
      list = through(list);
      if (inner.every((x) => x.k === "notes")) {
        out.push(...inner);
        dropped.set(String(c.name), text === undefined ? list : plainText ? text.split(" && ").filter(Boolean) : []);
        continue;
      }
      const deps =
        text !== undefined && text !== ""
          ? str(text)
          : arr(list.map((x) => str(x)));
      out.push({ k: "expr", e: call(this.ctx.use("setDependencies"), arrow(unwrap(inner)), deps) });
    }
    return out;
  }

  /** Two parallel calls under opposite conditions: `when(p, () => a).otherwise(() => b)`. */
  private whenOtherwise(a: { c: Obj; path: Path }, b: { c: Obj; path: Path }, scope: ValueScope): Stmt | undefined {
    const plain = (c: Obj) => c.when !== undefined && c.withItems === undefined && c.withParam === undefined && c.withSequence === undefined;
    if (!plain(a.c) || !plain(b.c) || !opposite(String(a.c.when), String(b.c.when))) return undefined;
    const callee = (c: Obj) => this.templates.get(c.template);
    if ([a.c, b.c].some((c) => { const t = callee(c); return t !== undefined && isGraph(t.t); })) return undefined;
    const pred = predicateCode(this.ctx, a.c.when, scope, [...a.path, "when"]);
    if (!pred) return undefined;
    const then = this.callStmts(a.c, a.path, scope, true, undefined, true);
    const otherwise = this.callStmts(b.c, b.path, scope, true, undefined, true);
    return { k: "expr", e: { k: "method", of: call(this.ctx.use("when"), pred, arrow(unwrap(then))), name: "otherwise", args: [arrow(unwrap(otherwise))] } };
  }

  /**
   * One call of a graph template as statements. `nested`: inside an arrow function, so a
   * handle that later steps read is declared before (hoisted) and assigned here.
   */
  callStmts(c: Obj, path: Path, scope: ValueScope, nested: boolean, over?: { stepName: string; parallelism: number }, noWhen = false): Stmt[] {
    const ctx = this.ctx;
    const notes: string[] = [];
    const stepName = over?.stepName ?? String(c.name);
    for (const k of leftovers(c, CALL_KEYS)) notes.push(...ctx.drop([...path, k], `step "${stepName}": ${k}`, c[k], "the DSL has no such option"));
    const callee = typeof c.template === "string" ? this.templates.get(c.template) : undefined;

    // a parallelism wrapper: the inner call is the step, with the map's limit
    if (callee && this.isWrapper(callee)) {
      const argScope = this.argsScope(c, path, scope, callee.t);
      const inner = callsOf(callee)[0]!;
      const innerScope = { ...this.scope(argScope.inputs), ...(scope.item ? { item: scope.item } : {}) };
      const stmts = this.callStmts(inner.c, inner.path, innerScope, nested, { stepName, parallelism: Number(callee.t.parallelism) });
      return notes.length ? [{ k: "notes", notes }, ...stmts] : stmts;
    }

    // the Argo backend's fan-in item template (backends/argo/fan-in.ts): the call runs its inner step
    if (callee && this.isItemTemplate(callee)) {
      const inner = callsOf(callee)[0]!.c;
      const outer = new Map<string, unknown>(((c.arguments?.parameters ?? []) as Obj[]).map((a) => [String(a.name), a.value]));
      const params = ((inner.arguments?.parameters ?? []) as Obj[]).map((a) => ({
        ...a,
        value: String(a.value ?? "").replace(/\{\{inputs\.parameters\.([A-Za-z0-9_.-]+)\}\}/g, (m, n: string) => (outer.has(n) ? String(outer.get(n)) : m)),
      }));
      const merged: Obj = { ...c, template: inner.template, ...(params.length ? { arguments: { ...(c.arguments ?? {}), parameters: params } } : {}) };
      if (!params.length) delete merged.arguments;
      const stmts = this.callStmts(merged, path, scope, nested, over, noWhen);
      return notes.length ? [{ k: "notes", notes }, ...stmts] : stmts;
    }

    const loop = this.loopOf(c, path, scope, notes, stepName);
    const inScope: ValueScope = loop ? { ...scope, item: loop.item } : scope;
    const argsIn = this.argsScope(c, path, inScope, callee?.t);
    let base: Code | undefined;
    if (c.templateRef !== undefined) {
      const r = c.templateRef as Obj;
      const args = ((c.arguments?.parameters ?? []) as Obj[]).map((a, i) => [String(a.name), valueCode(ctx, a.value, inScope, [...path, "arguments", "parameters", i, "value"])] as const);
      base = call(ctx.use("runTemplate"), obj([
        ["stepName", str(stepName)],
        ["templateRef", obj([["name", str(String(r.name))], ["template", str(String(r.template))], ["clusterScope", r.clusterScope ? { k: "bool", v: true } : undefined]])],
        ["args", args.length ? obj(args) : undefined],
      ]));
    } else if (!callee) {
      notes.push(...ctx.drop(path, `step "${stepName}"`, c, `template ${JSON.stringify(c.template ?? null)} is not in this workflow`));
    } else if (isGraph(callee.t) && callsOf(callee).some(({ c: x }) => x.template === callee.t.name)) {
      base = this.whileLoop(callee, stepName, argsIn, notes);
    } else if (isGraph(callee.t)) {
      notes.push(...ctx.drop(path, `step "${stepName}"`, c, `it calls the steps/dag template "${callee.t.name}"; nested graphs have no DSL form`));
    } else if (!isLeaf(callee.t)) {
      notes.push(...ctx.drop(callee.path, `template "${callee.t.name}"`, callee.t, "this kind of template has no DSL form"));
    } else if (this.helpers.has(String(callee.t.name))) {
      const h = this.helpers.get(String(callee.t.name))!;
      this.helperFor(String(callee.t.name));
      const args = h.params.map((p) => {
        if (p.kind === "artifact") return argsIn.artifacts.get(p.input) ?? raw("undefined!");
        return argsIn.inputs.get(p.input) ?? str(String(p.def ?? ""));
      });
      base = call(h.name, str(stepName), ...args);
    } else {
      const leaf = leafCall(ctx, callee.t, callee.path, { stepName: str(stepName), scope: argsIn, artifacts: argsIn.artifacts });
      notes.push(...leaf.notes);
      base = leaf.code;
    }
    if (!base) return [{ k: "notes", notes }];
    if (this.stepNames.has(stepName)) {
      ctx.warn(path, `step name "${stepName}" is also used by another step (a template run from several places); the DSL needs unique step names`);
    }
    this.stepNames.add(stepName);

    const handle = ctx.handles.get(stepName);
    let pred: Code | undefined;
    if (c.when !== undefined && !noWhen) {
      pred = predicateCode(ctx, c.when, inScope, [...path, "when"]);
      if (!pred) notes.push(...ctx.drop([...path, "when"], `step "${stepName}": when`, c.when, "the condition has no predicate form, so the step is imported without it"));
    }
    let e: Code;
    let assigned = false;
    if (loop) {
      const body = pred ? call(ctx.use("when"), pred, arrow(base)) : base;
      const args = [...loop.args];
      if (over) args.push(obj([["parallelism", { k: "num", v: over.parallelism }]]));
      e = call(ctx.use("map"), arrow(body, loop.item.vars), ...args);
      if (handle) e = { k: "nonNull", of: e };
    } else if (pred) {
      e = call(ctx.use("when"), pred, arrow(handle ? { k: "assign", name: handle, value: base } : base));
      assigned = !!handle;
    } else e = base;
    if (over && !loop) notes.push(...ctx.drop(path, `step "${stepName}": parallelism`, over.parallelism, "parallelism applies to a map() only"));
    const noteOpt = notes.length ? { notes } : {};
    if (!handle) return [{ k: "expr", e, ...noteOpt }];
    if (assigned || nested) {
      if (!ctx.hoisted.some((x) => x.k === "let" && x.name === handle)) ctx.hoisted.push({ k: "let", name: handle, type: ctx.useType("StepHandle") });
      return [{ k: "expr", e: assigned ? e : { k: "assign", name: handle, value: e }, ...noteOpt }];
    }
    return [{ k: "const", name: handle, e, ...noteOpt }];
  }

  /** What a call passes to its template: parameter values and artifacts, in the caller's scope. */
  private argsScope(c: Obj, path: Path, scope: ValueScope, t: Obj | undefined): ValueScope & { artifacts: Map<string, Code> } {
    const inputs = new Map<string, Code>();
    const given = new Map<string, { v: unknown; i: number }>();
    ((c.arguments?.parameters ?? []) as Obj[]).forEach((a, i) => given.set(String(a.name), { v: a.value, i }));
    for (const p of (t?.inputs?.parameters ?? []) as Obj[]) {
      const g = given.get(String(p.name));
      if (g) inputs.set(String(p.name), valueCode(this.ctx, g.v, scope, [...path, "arguments", "parameters", g.i, "value"]));
      else if (p.value !== undefined) inputs.set(String(p.name), valueCode(this.ctx, p.value, this.scope(), path));
    }
    const artifacts = new Map<string, Code>();
    ((c.arguments?.artifacts ?? []) as Obj[]).forEach((a, i) => {
      const m = /^\{\{(?:steps|tasks)\.([A-Za-z0-9_-]+)\.outputs\.artifacts\.([A-Za-z0-9_-]+)\}\}$/.exec(String(a.from ?? ""));
      const h = m ? this.ctx.handles.get(m[1]!) : undefined;
      if (m && h) artifacts.set(String(a.name), call(`${h}.artifact`, str(m[2]!)));
      else this.ctx.warn([...path, "arguments", "artifacts", i], `artifact argument ${a.name}: only another step's output artifact has a DSL form`);
    });
    return { ...scope, inputs, artifacts };
  }

  /** `map` items: a static list (or zipped lists for object items), or a run-time list. */
  private loopOf(c: Obj, path: Path, scope: ValueScope, notes: string[], stepName: string): { item: ItemScope; args: Code[] } | undefined {
    const ctx = this.ctx;
    let items: unknown[] | undefined;
    if (Array.isArray(c.withItems)) items = c.withItems;
    else if (c.withSequence !== undefined) {
      const s = c.withSequence as Obj;
      const n = (x: unknown) => (x === undefined ? undefined : Number(x));
      const [count, start, end] = [n(s.count), n(s.start), n(s.end)];
      if (s.format === undefined && [count, start, end].every((x) => x === undefined || Number.isInteger(x))) {
        const from = start ?? 0;
        const to = count !== undefined ? from + count - 1 : (end ?? 0);
        items = [];
        for (let i = from; from <= to ? i <= to : i >= to; i += from <= to ? 1 : -1) items.push(i);
      } else {
        notes.push(...ctx.drop([...path, "withSequence"], `step "${stepName}": withSequence`, s, "only a literal count or start/end becomes a list"));
        return undefined;
      }
    } else if (c.withParam !== undefined) {
      const text = String(c.withParam);
      const parts = textParts(text);
      if (!("error" in parts) && parts.length === 1 && "path" in parts[0]!) {
        const src = refCode(ctx, parts[0].path, scope, [...path, "withParam"]);
        if (src) return { item: { kind: "param", vars: [ctx.fresh("item")] }, args: [src] };
      }
      try {
        const list = JSON.parse(text) as unknown;
        if (Array.isArray(list)) items = list;
      } catch {
        /* not a literal list */
      }
      if (!items) {
        notes.push(...ctx.drop([...path, "withParam"], `step "${stepName}": withParam`, c.withParam, "only a parameter, a step's result or output, or a literal list has a DSL form"));
        return undefined;
      }
    } else return undefined;
    const scalar = (x: unknown) => ["string", "number", "boolean"].includes(typeof x);
    if (items.every(scalar)) return { item: { kind: "one", vars: [ctx.fresh("item")] }, args: [arr(items.map(jsonCode))] };
    const first = items[0] as Obj | undefined;
    const keys = first && typeof first === "object" ? Object.keys(first) : [];
    const same = items.every((x) => x && typeof x === "object" && !Array.isArray(x) && Object.keys(x).join("\n") === keys.join("\n") && Object.values(x).every(scalar));
    if (!same || keys.length === 0) {
      notes.push(...ctx.drop([...path, "withItems"], `step "${stepName}": items`, items, "items must be values, or objects with the same keys and plain values"));
      return undefined;
    }
    const vars = keys.map((k) => ctx.fresh(k));
    return { item: { kind: "zip", vars, keys }, args: keys.map((k) => arr(items!.map((x) => jsonCode((x as Obj)[k])))) };
  }

  /** A graph template whose last call runs it again: `execWhile(predicate, () => body)`. */
  private whileLoop(tp: Tpl, stepName: string, scope: ValueScope, notes: string[]): Code | undefined {
    const ctx = this.ctx;
    const self = callsOf(tp).filter(({ c }) => c.template === tp.t.name);
    const again = self[self.length - 1]!;
    if (self.length > 1 || again.c.when === undefined) {
      notes.push(...ctx.drop(again.path, `template "${tp.t.name}"`, again.c, "a loop needs exactly one call of itself, with a when condition"));
      return undefined;
    }
    if (again.c.arguments !== undefined) notes.push(...ctx.drop([...again.path, "arguments"], `template "${tp.t.name}": the next round's arguments`, again.c.arguments, "every round of execWhile runs with the same values"));
    const innerScope: ValueScope = { ...this.scope(scope.inputs), ...(scope.item ? { item: scope.item } : {}) };
    const body = this.graph(tp, innerScope, true);
    const others = callsOf(tp).filter(({ c }) => c.template !== tp.t.name);
    const ordered = tp.t.dag ? topo(others) : others;
    const last = ordered[ordered.length - 1]?.c.name;
    const mode = tp.t.dag ? "tasks" : "steps";
    const pred = predicateCode(ctx, again.c.when, { ...innerScope, byName: true }, [...again.path, "when"], last !== undefined ? `${mode}.${last}.outputs.result` : undefined);
    if (!pred) {
      notes.push(...ctx.drop([...again.path, "when"], `template "${tp.t.name}": loop condition`, again.c.when, "the condition has no predicate form"));
      return undefined;
    }
    return call(ctx.use("execWhile"), pred, arrow(unwrap(body)), obj([["stepName", str(stepName)]]));
  }
}

const INVERSE: Record<string, string> = { eq: "ne", ne: "eq", gt: "le", le: "gt", lt: "ge", ge: "lt" };

/** Is condition `b` exactly "not `a`" (`x == y` / `x != y`, `p` / `!(p)`)? */
function opposite(a: string, b: string): boolean {
  const x = parseWhen(a);
  const y = parseWhen(b);
  if ("error" in x || "error" in y) return false;
  const same = (p: unknown, q: unknown) => JSON.stringify(p) === JSON.stringify(q);
  if (x.kind === "compare" && y.kind === "compare") return INVERSE[x.op] === y.op && same(x.left, y.left) && same(x.right, y.right);
  return (y.kind === "not" && same(y.of, x)) || (x.kind === "not" && same(x.of, y));
}

/** A single expression statement as an arrow's expression body; otherwise the block. */
function unwrap(stmts: readonly Stmt[]): readonly Stmt[] | Code {
  if (stmts.length === 1 && stmts[0]!.k === "expr" && !stmts[0]!.notes?.length) return stmts[0]!.e;
  return stmts;
}

/** DAG tasks in an order where every task comes after the tasks it depends on or reads. */
function topo<T extends { c: Obj }>(tasks: readonly T[]): T[] {
  const names = new Set(tasks.map(({ c }) => String(c.name)));
  const needs = new Map<string, Set<string>>();
  for (const { c } of tasks) {
    const deps = new Set<string>([...((c.dependencies ?? []) as string[]).map(String), ...(c.depends !== undefined ? dependsNames(String(c.depends)) : [])]);
    for (const m of JSON.stringify(c.arguments ?? {}).matchAll(/tasks\.([A-Za-z0-9_-]+)\./g)) deps.add(m[1]!);
    needs.set(String(c.name), new Set([...deps].filter((n) => names.has(n) && n !== c.name)));
  }
  const out: T[] = [];
  const done = new Set<string>();
  while (out.length < tasks.length) {
    const next = tasks.find(({ c }) => !done.has(String(c.name)) && [...needs.get(String(c.name))!].every((n) => done.has(n)));
    const pick = next ?? tasks.find(({ c }) => !done.has(String(c.name)))!; // a cycle: keep the written order
    done.add(String(pick.c.name));
    out.push(pick);
  }
  return out;
}
