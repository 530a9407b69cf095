/**
 * GitHub Actions expressions for the replay, evaluated by GitHub's own evaluator
 * (`@actions/expressions`, the package GitHub's language services and parser use).
 *
 * - A field is split into literal text and `${{ … }}` spans the way the workflow parser does
 *   (actions/languageservices `workflow-parser/src/templates/template-reader.ts`, parseScalar:
 *   the scanner skips quoted text when looking for the closing `}}`). A field that is exactly one
 *   expression keeps the expression's type (a matrix list); otherwise the parts are joined as text
 *   (the parser turns them into `format()`, whose arguments are coerced to strings).
 * - `if:` without a status function means `success() && (<if>)` (actions/runner
 *   `src/Sdk/DTPipelines/Pipelines/ObjectTemplating/PipelineTemplateConverter.cs`,
 *   ConvertToIfCondition; the same for jobs and steps).
 * - Status functions are supplied by the caller: for a step they read the job's status
 *   (actions/runner `src/Runner.Worker/Expressions/SuccessFunction.cs`, FailureFunction.cs,
 *   CancelledFunction.cs, AlwaysFunction.cs); for a job, the results of the jobs it needs.
 */
import { Evaluator, Lexer, Parser, data, type Expr } from "@actions/expressions";
import { truthy } from "@actions/expressions/result";
import type { FunctionDefinition } from "@actions/expressions/funcs/info";

export const CONTEXTS = ["github", "inputs", "needs", "matrix", "strategy", "steps", "job", "runner", "env", "secrets", "vars"];
export const STATUS_FUNCTIONS = ["success", "failure", "cancelled", "always"];

export type Part = { readonly lit: string } | { readonly expr: string };

/** Split a field into literal text and expression sources. */
export function splitTemplate(text: string): Part[] {
  const out: Part[] = [];
  let lit = "";
  let i = 0;
  while (i < text.length) {
    const at = text.indexOf("${{", i);
    if (at < 0) {
      lit += text.slice(i);
      break;
    }
    lit += text.slice(i, at);
    let j = at + 3;
    while (j < text.length && !text.startsWith("}}", j)) {
      if (text[j] === "'") {
        j++;
        while (j < text.length && !(text[j] === "'" && text[j + 1] !== "'")) j += text[j] === "'" ? 2 : 1;
      }
      j++;
    }
    if (j >= text.length) throw new Error(`unclosed \${{ in ${JSON.stringify(text)}`);
    if (lit) out.push({ lit });
    lit = "";
    out.push({ expr: text.slice(at + 3, j).trim() });
    i = j + 2;
  }
  if (lit) out.push({ lit });
  return out;
}

export type Status = Readonly<Record<"success" | "failure" | "cancelled", () => boolean>>;

/** Everything an expression can read. */
export interface Scope {
  readonly contexts: Readonly<Record<string, unknown>>;
  readonly status?: Status;
}

const parsed = new Map<string, Expr>();

export function parse(src: string): Expr {
  let e = parsed.get(src);
  if (!e) {
    const fns = STATUS_FUNCTIONS.map((name) => ({ name, minArgs: 0, maxArgs: 0 }));
    e = new Parser(new Lexer(src).lex().tokens, CONTEXTS, fns).parse();
    parsed.set(src, e);
  }
  return e;
}

function toData(v: unknown): data.ExpressionData {
  return JSON.parse(JSON.stringify(v ?? null), data.reviver) as data.ExpressionData;
}

function functions(status: Status | undefined): Map<string, FunctionDefinition> {
  const m = new Map<string, FunctionDefinition>();
  const def = (name: string, f: () => boolean) => m.set(name, { name, minArgs: 0, maxArgs: 0, call: () => new data.BooleanData(f()) });
  def("always", () => true);
  def("success", status?.success ?? (() => true));
  def("failure", status?.failure ?? (() => false));
  def("cancelled", status?.cancelled ?? (() => false));
  return m;
}

/** Evaluate one expression source. */
export function evaluate(src: string, scope: Scope): data.ExpressionData {
  const ctx = new data.Dictionary(...Object.entries(scope.contexts).map(([key, v]) => ({ key, value: toData(v) })));
  return new Evaluator(parse(src), ctx, functions(scope.status)).evaluate();
}

/** The plain JSON value of expression data. */
export function plain(d: data.ExpressionData): unknown {
  return JSON.parse(JSON.stringify(d, data.replacer));
}

/** A field's value: one whole expression keeps its type; anything else is text. */
export function evalField(text: string, scope: Scope): unknown {
  if (!text.includes("${{")) return text;
  const parts = splitTemplate(text);
  if (parts.length === 1 && "expr" in parts[0]!) return plain(evaluate(parts[0].expr, scope));
  return parts.map((p) => ("lit" in p ? p.lit : evaluate(p.expr, scope).coerceString())).join("");
}

/** A field as text (env values, run scripts, names). */
export function evalText(text: string, scope: Scope): string {
  if (!text.includes("${{")) return text;
  return splitTemplate(text)
    .map((p) => ("lit" in p ? p.lit : evaluate(p.expr, scope).coerceString()))
    .join("");
}

/** Every string leaf of a YAML value, evaluated (matrix values). */
export function evalTree(v: unknown, scope: Scope): unknown {
  if (typeof v === "string") return evalField(v, scope);
  if (Array.isArray(v)) return v.map((x) => evalTree(x, scope));
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, evalTree(x, scope)]));
  return v;
}

/** The source of an `if:` (with or without `${{ }}`), with GitHub's implicit `success() && (...)`. */
export function ifSource(text: string | undefined): string {
  if (text === undefined || String(text).trim() === "") return "success()";
  let src = String(text).trim();
  const parts = splitTemplate(src);
  if (parts.length === 1 && "expr" in parts[0]!) src = parts[0].expr;
  return hasStatusFunction(parse(src)) ? src : `success() && (${src})`;
}

/** Does the tree call a status function (ConvertToIfCondition's check)? */
export function hasStatusFunction(e: Expr): boolean {
  let found = false;
  walk(e, (n) => {
    const name = (n as { functionName?: { lexeme: string } }).functionName?.lexeme?.toLowerCase();
    if (name && STATUS_FUNCTIONS.includes(name)) found = true;
  });
  return found;
}

/** Visit every node of an expression tree. */
export function walk(e: unknown, visit: (n: object) => void): void {
  if (!e || typeof e !== "object") return;
  visit(e);
  for (const v of Object.values(e)) {
    if (Array.isArray(v)) v.forEach((x) => walk(x, visit));
    else if (v && typeof v === "object" && !("lexeme" in v) && !("kind" in v && "primitive" in v)) walk(v, visit);
  }
}

/** The top-level `&&` operands of an expression source. */
export function conjuncts(src: string): Expr[] {
  const out: Expr[] = [];
  const go = (e: Expr): void => {
    const l = e as unknown as { operator?: { lexeme: string }; args?: Expr[]; group?: Expr };
    if (l.operator?.lexeme === "&&" && l.args) l.args.forEach(go);
    else out.push(e);
  };
  go(parse(src));
  return out;
}

/** Evaluate a parsed tree (a conjunct) to a boolean. */
export function holds(e: Expr, scope: Scope): boolean {
  const ctx = new data.Dictionary(...Object.entries(scope.contexts).map(([key, v]) => ({ key, value: toData(v) })));
  return truthy(new Evaluator(e, ctx, functions(scope.status)).evaluate());
}

export function truthyValue(d: data.ExpressionData): boolean {
  return truthy(d);
}
