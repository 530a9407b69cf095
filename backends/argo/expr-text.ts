/**
 * Values and escaping in Argo fields: Argo resolves every `{{…}}` (util/template/template.go,
 * fasttemplate with `{{`/`}}`) and evaluates `{{=…}}` with expr-lang
 * (util/template/expression_template.go). Text that must stay literal travels as an expression.
 */
import type { Ref } from "../../src/ir/types.js";

/** Quote text as an expr-lang string, with every brace alone so no `{{` or `}}` appears. */
export function exprString(s: string): string {
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
export function needsExpression(parts: readonly (string | Ref)[]): boolean {
  return parts.some((p, i) => typeof p === "string" && (p.includes("{{") || (p.endsWith("{") && i + 1 < parts.length)));
}

/** A dotted path as an expr-lang term: names that are not identifiers need bracket access (`tasks['a-b']`). */
export function exprRef(path: string): string {
  const [head, ...rest] = path.split(".");
  return head + rest.map((p) => (/^[A-Za-z_][A-Za-z0-9_]*$/.test(p) ? `.${p}` : `['${p}']`)).join("");
}
