/**
 * Argo values as DSL values: `{{workflow.parameters.day}}` is the `param()` variable,
 * `{{steps.train.outputs.result}}` is `train.result`, `{{item.id}}` is `item.field("id")`,
 * `{{inputs.parameters.x}}` is whatever the caller passed, and text around them becomes a
 * template literal. `when` expressions become predicates.
 */
import { textParts, parseWhen, unKube, type TextPart, type WhenExpr } from "./argo-text.js";
import type { PlanContext } from "./plan-context.js";
import { call, raw, str, type Code } from "./plan.js";
import type { Path } from "./yaml-source.js";

/** How map items are named: one item, zipped lists (object keys or `v0`, `v1`…), or a run-time list. */
export interface ItemScope {
  readonly kind: "one" | "zip" | "param";
  readonly vars: readonly string[];
  /** For `zip`: the item key each var stands for (`v0`, or an object key). */
  readonly keys?: readonly string[];
}

/** Outputs of a parallelism wrapper template: call name → output → the inner step's output. */
export type Wrappers = Map<string, Map<string, { readonly step: string; readonly out: string }>>;

export interface ValueScope {
  /** `inputs.parameters.X` of the template being read → the value its caller passed. */
  readonly inputs: ReadonlyMap<string, Code>;
  readonly item?: ItemScope;
  /** Refer to steps by name (`new ValueRef(...)`): an `execWhile` condition is built before its body runs. */
  readonly byName?: boolean;
  readonly wrappers: Wrappers;
}

/** Join parts into a string literal, a single expression, or a template literal. */
export function joinParts(parts: readonly (string | Code)[]): Code {
  const flat: (string | Code)[] = [];
  for (const p of parts) {
    const q = typeof p !== "string" && p.k === "str" ? p.v : p;
    if (typeof q !== "string" && q.k === "tpl") {
      for (const x of q.parts) push(flat, x);
    } else push(flat, q);
  }
  if (flat.length === 0) return str("");
  if (flat.length === 1) return typeof flat[0] === "string" ? str(flat[0]) : flat[0]!;
  return { k: "tpl", parts: flat };
}

function push(list: (string | Code)[], p: string | Code): void {
  if (typeof p === "string") {
    if (p === "") return;
    const last = list[list.length - 1];
    if (typeof last === "string") list[list.length - 1] = last + p;
    else list.push(p);
  } else list.push(p);
}

/**
 * A field's text as a DSL value. `container`: the text is a container's command, args or env
 * value, where Kubernetes turns `$$` into `$` (the DSL writes what the program should get).
 */
export function valueCode(ctx: PlanContext, text: unknown, scope: ValueScope, path: Path, container = false): Code {
  if (typeof text !== "string") return str(text === null || text === undefined ? "" : String(text));
  const parsed = textParts(text);
  if ("error" in parsed) {
    ctx.warn(path, `${parsed.error}; imported as plain text`);
    return str(text);
  }
  return partsCode(ctx, parsed, scope, path, container);
}

export function partsCode(ctx: PlanContext, parts: readonly TextPart[], scope: ValueScope, path: Path, container = false): Code {
  const out: (string | Code)[] = [];
  for (const p of parts) {
    if ("lit" in p) {
      if (!container) out.push(p.lit);
      else {
        const u = unKube(p.lit);
        if (u.kubeRef !== undefined) {
          ctx.warn(path, `Kubernetes expands ${u.kubeRef} here from the container's environment; the DSL passes text as written, so it is imported as plain text`);
        }
        out.push(u.text);
      }
      continue;
    }
    const r = refCode(ctx, p.path, scope, path);
    out.push(r ?? `{{${p.path}}}`);
  }
  return joinParts(out);
}

/** The DSL expression for one Argo path, or undefined (with a warning) when there is none. */
export function refCode(ctx: PlanContext, path: string, scope: ValueScope, where: Path): Code | undefined {
  const seg = path.split(".");
  const rest = seg.slice(2).join(".");
  if (seg[0] === "workflow" && seg[1] === "parameters") {
    const v = ctx.params.get(rest);
    if (v !== undefined) return raw(v);
    ctx.warn(where, `{{${path}}} names no workflow parameter`);
    return undefined;
  }
  if (path === "workflow.name") return call(ctx.use("workflowName"));
  if (path === "workflow.status") return call(ctx.use("workflowStatus"));
  if (seg[0] === "inputs" && seg[1] === "parameters") {
    const v = scope.inputs.get(rest);
    if (v !== undefined) return v;
    ctx.warn(where, `{{${path}}}: the template's caller passes no such parameter`);
    return undefined;
  }
  if ((seg[0] === "steps" || seg[0] === "tasks") && seg[2] === "outputs" && seg.length >= 4) {
    const step = seg[1]!;
    if (seg[3] === "result" && seg.length === 4) return outputRef(ctx, step, "result", scope, where);
    if (seg[3] === "parameters" && seg.length >= 5) return outputRef(ctx, step, seg.slice(4).join("."), scope, where);
  }
  if (seg[0] === "item" && scope.item) {
    const it = scope.item;
    if (seg.length === 1 && it.kind !== "zip") return raw(it.vars[0]!);
    if (seg.length === 2 && it.kind === "zip") {
      const i = it.keys!.indexOf(seg[1]!);
      if (i >= 0) return raw(it.vars[i]!);
    }
    if (seg.length === 2 && it.kind === "param") return call(`${it.vars[0]}.field`, str(seg[1]!));
  }
  ctx.warn(where, `{{${path}}} has no DSL form; imported as plain text`);
  return undefined;
}

function outputRef(ctx: PlanContext, step: string, out: string, scope: ValueScope, where: Path): Code | undefined {
  const via = scope.wrappers.get(step)?.get(out);
  if (via) {
    step = via.step;
    out = via.out;
  }
  // the Argo backend's fan-in item template exports (backends/argo/fan-in.ts fanInParam)
  if (out === "couler-result") out = "result";
  else if (out.startsWith("couler-out-")) out = out.slice("couler-out-".length);
  if (scope.byName) {
    ctx.use("ValueRef");
    const ref = out === "result" ? `{ kind: "result", step: ${JSON.stringify(step)} }` : `{ kind: "output", step: ${JSON.stringify(step)}, output: ${JSON.stringify(out)} }`;
    return raw(`new ValueRef(${ref})`);
  }
  const h = ctx.handles.get(step);
  if (h === undefined) {
    ctx.warn(where, `no step "${step}" here whose outputs could be read`);
    return undefined;
  }
  return out === "result" ? raw(`${h}.result`) : call(`${h}.output`, str(out));
}

// ------------------------------------------------------------------ conditions

const PRED: Record<string, string> = { eq: "equal", ne: "notEqual", gt: "bigger", lt: "smaller", ge: "biggerEqual", le: "smallerEqual" };

/** A `when` expression as a predicate; undefined (with a warning) when it has no predicate form. */
export function predicateCode(ctx: PlanContext, text: unknown, scope: ValueScope, path: Path, implicit?: string): Code | undefined {
  const e = parseWhen(String(text));
  if ("error" in e) {
    ctx.warn(path, e.error);
    return undefined;
  }
  const before = ctx.diagnostics.length;
  const code = exprCode(ctx, e, scope, path, implicit);
  return ctx.diagnostics.length === before ? code : undefined;
}

function exprCode(ctx: PlanContext, e: WhenExpr, scope: ValueScope, path: Path, implicit?: string): Code {
  switch (e.kind) {
    case "compare": {
      const fn = ctx.use(PRED[e.op]!);
      // Couler's one-value form: the loop body's last result compared with a value
      const left = e.left.parts;
      if (implicit !== undefined && left.length === 1 && "path" in left[0]! && left[0].path === implicit) {
        return call(fn, partsCode(ctx, e.right.parts, scope, path));
      }
      return call(fn, partsCode(ctx, e.left.parts, scope, path), partsCode(ctx, e.right.parts, scope, path));
    }
    case "and":
    case "or":
      return call(ctx.use(e.kind), ...e.of.map((x) => exprCode(ctx, x, scope, path, implicit)));
    case "not":
      return call(ctx.use("not"), exprCode(ctx, e.of, scope, path, implicit));
  }
}

/** `Succeeded`, `Failed` or `Error` when the condition is exactly "the workflow ended so". */
export function exitStatus(text: unknown): string | undefined {
  const e = parseWhen(String(text));
  if ("error" in e || e.kind !== "compare" || e.op !== "eq") return undefined;
  const [l, r] = [e.left.parts, e.right.parts];
  const isStatus = (p: readonly TextPart[]) => p.length === 1 && "path" in p[0]! && p[0].path === "workflow.status";
  const lit = (p: readonly TextPart[]) => (p.length === 1 && "lit" in p[0]! ? p[0].lit : undefined);
  const s = isStatus(l) ? lit(r) : isStatus(r) ? lit(l) : undefined;
  return s !== undefined && ["Succeeded", "Failed", "Error"].includes(s) ? s : undefined;
}
