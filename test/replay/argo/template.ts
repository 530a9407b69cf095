/**
 * Argo's text substitution and `when` evaluation.
 *
 * - `substitute`: util/template/template.go (fasttemplate over `{{` `}}`): a simple tag is a
 *   key of the scope (simple_template.go simpleReplaceStrict, spaces trimmed); an `{{=expr}}`
 *   tag is evaluated by expr-lang over the scope expanded into nested maps
 *   (expression_template.go expressionReplaceCore, util/expr/env/env.go GetFuncMap,
 *   util/expand/expand.go: a key that is a prefix of another key, `a` beside `a.b`, is
 *   dropped). A string result is inserted as is, anything else as its JSON. An unknown key or a
 *   failing expression is an error here (the replay does not model Argo's later re-tries).
 * - `shouldExecute`: workflow/controller/steps.go shouldExecute: govaluate parses the
 *   substituted text; bare words (govaluate variables) become strings; the result must be a bool.
 */
import { evalExpr, ExprError, goJson } from "./expr.js";

export class TemplateError extends Error {
  override name = "TemplateError";
}

export type Scope = ReadonlyMap<string, string>;

/** The expression environment of a flat scope. */
export function exprEnv(scope: Scope): Record<string, unknown> {
  const keys = [...scope.keys()].sort();
  const env: Record<string, unknown> = {};
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    if (keys.slice(i + 1).some((o) => o.startsWith(`${k}.`))) continue; // removeConflicts
    const parts = k.split(".");
    let o = env;
    for (const p of parts.slice(0, -1)) {
      const next = o[p];
      if (next === null || typeof next !== "object") o[p] = {};
      o = o[p] as Record<string, unknown>;
    }
    o[parts[parts.length - 1]!] = scope.get(k)!;
  }
  return env;
}

/** Replace every `{{…}}` tag of `text`. */
export function substitute(text: string, scope: Scope): string {
  let out = "";
  let i = 0;
  for (;;) {
    const at = text.indexOf("{{", i);
    if (at < 0) return out + text.slice(i);
    const end = text.indexOf("}}", at + 2);
    if (end < 0) return out + text.slice(i); // fasttemplate: an unclosed tag stays text
    out += text.slice(i, at);
    const tag = text.slice(at + 2, end);
    i = end + 2;
    if (tag.startsWith("=")) {
      let v: unknown;
      try {
        v = evalExpr(tag.slice(1), exprEnv(scope));
      } catch (e) {
        throw new TemplateError(`failed to evaluate expression ${JSON.stringify(tag.slice(1))}: ${(e as Error).message}`);
      }
      if (v === null || v === undefined) throw new TemplateError(`expression ${JSON.stringify(tag.slice(1))} gave nil`);
      out += typeof v === "string" ? v : goJson(v);
      continue;
    }
    const v = scope.get(tag.trim());
    if (v === undefined) throw new TemplateError(`failed to resolve {{${tag}}}`);
    out += v;
  }
}

/** Substitute every string inside a JSON-like value. */
export function substituteDeep<T>(v: T, scope: Scope): T {
  if (typeof v === "string") return substitute(v, scope) as T;
  if (Array.isArray(v)) return v.map((x) => substituteDeep(x, scope)) as T;
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, substituteDeep(x, scope)])) as T;
  return v;
}

type GTok = { k: "v"; v: unknown } | { k: "op"; v: string };

/** govaluate, for the substituted `when` text: literals, bare words, comparisons, `&& || !`, parentheses. */
export function shouldExecute(when: string): boolean {
  const toks: GTok[] = [];
  let i = 0;
  while (i < when.length) {
    const c = when[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === "'" || c === '"') {
      const end = when.indexOf(c, i + 1);
      if (end < 0) throw new TemplateError(`Invalid 'when' expression '${when}': unclosed string`);
      toks.push({ k: "v", v: when.slice(i + 1, end) });
      i = end + 1;
      continue;
    }
    const op = ["==", "!=", ">=", "<=", "&&", "||", ">", "<", "!", "(", ")"].find((o) => when.startsWith(o, i));
    if (op) {
      toks.push({ k: "op", v: op });
      i += op.length;
      continue;
    }
    const num = /^-?\d+(\.\d+)?([eE][-+]?\d+)?(?![\w.])/.exec(when.slice(i));
    if (num) {
      toks.push({ k: "v", v: Number(num[0]) });
      i += num[0].length;
      continue;
    }
    const word = /^[A-Za-z_][\w.\-\[\]]*/.exec(when.slice(i));
    if (!word) throw new TemplateError(`Invalid 'when' expression '${when}': invalid token ${JSON.stringify(c)}`);
    toks.push({ k: "v", v: word[0] === "true" ? true : word[0] === "false" ? false : word[0] });
    i += word[0].length;
  }
  let p = 0;
  const bad = (m: string): never => {
    throw new TemplateError(`Invalid 'when' expression '${when}': ${m}`);
  };
  const isOp = (v: string) => toks[p]?.k === "op" && toks[p]!.v === v;
  const or = (): unknown => {
    let l = and();
    while (isOp("||")) {
      p++;
      const r = and();
      l = typeof l === "boolean" && typeof r === "boolean" ? l || r : bad("|| needs booleans");
    }
    return l;
  };
  const and = (): unknown => {
    let l = cmp();
    while (isOp("&&")) {
      p++;
      const r = cmp();
      l = typeof l === "boolean" && typeof r === "boolean" ? l && r : bad("&& needs booleans");
    }
    return l;
  };
  const cmp = (): unknown => {
    const l = unary();
    const op = ["==", "!=", ">=", "<=", ">", "<"].find(isOp);
    if (!op) return l;
    p++;
    const r = unary();
    if (op === "==") return l === r;
    if (op === "!=") return l !== r;
    if (!((typeof l === "number" && typeof r === "number") || (typeof l === "string" && typeof r === "string"))) bad(`cannot compare ${String(l)} ${op} ${String(r)}`);
    const [a, b] = [l as number, r as number];
    return op === ">" ? a > b : op === "<" ? a < b : op === ">=" ? a >= b : a <= b;
  };
  const unary = (): unknown => {
    if (isOp("!")) {
      p++;
      const x = unary();
      return typeof x === "boolean" ? !x : bad("! needs a boolean");
    }
    if (isOp("(")) {
      p++;
      const x = or();
      if (!isOp(")")) bad("unbalanced parentheses");
      p++;
      return x;
    }
    const t = toks[p++];
    if (!t || t.k !== "v") return bad("unexpected end");
    return t.v;
  };
  const v = or();
  if (p !== toks.length) bad("unexpected token");
  if (typeof v !== "boolean") throw new TemplateError(`Expected boolean evaluation for '${when}'. Got ${String(v)}`);
  return v;
}

export { ExprError };
