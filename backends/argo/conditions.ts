/**
 * `when` conditions as one expr-lang expression: `when: "{{=tasks['flip'].outputs.result == 'heads'}}"`.
 *
 * Why not Argo's classic form `'{{steps.x.outputs.result}}' == 'heads'`: the value is spliced
 * into the text first and the text is then parsed by govaluate
 * (`workflow/controller/steps.go` shouldExecute), so a value holding a quote makes the
 * expression invalid and errors the step. In an `{{=…}}` tag the value is a variable of the
 * expression (`util/template/expression_template.go` expressionReplaceCore evaluates it with
 * expr-lang over the scope), so any text compares as text; the tag is replaced by `true` or
 * `false` (json.Marshal of the result), which shouldExecute then reads as a boolean.
 * Expression tags exist since Argo v3.1, so both schema versions we validate against (v3.7.9,
 * v4.1.2) run them.
 *
 * Numbers: `asFloat` (util/expr/env/env.go GetFuncMap, expr-lang's builtin `float`) converts
 * text to a number; text that is not one fails the evaluation, as `couler run` errors the step.
 */
import type { Condition, Ref, Value } from "../../src/ir/types.js";
import { exprString } from "./expr-text.js";

const COMPARE = { eq: "==", ne: "!=", gt: ">", lt: "<", ge: ">=", le: "<=" } as const;

/** A value as an expr-lang term; `term` renders one reference. */
export function valueExpr(v: Value, term: (r: Ref) => string): string {
  const parts: (string | Ref)[] = typeof v === "string" ? [v] : v.kind === "concat" ? [...v.parts] : [v];
  const out = parts.filter((p) => p !== "").map((p) => (typeof p === "string" ? exprString(p) : term(p)));
  if (out.length === 0) return "''";
  return out.length === 1 ? out[0]! : `(${out.join(" + ")})`;
}

/** The condition as expr-lang text (without the `{{=` `}}` around it). */
export function conditionExpr(c: Condition, term: (r: Ref) => string): string {
  switch (c.kind) {
    case "compare": {
      const numeric = c.op !== "eq" && c.op !== "ne";
      const side = (v: Value) => (numeric ? `asFloat(${valueExpr(v, term)})` : valueExpr(v, term));
      return `${side(c.left)} ${COMPARE[c.op]} ${side(c.right)}`;
    }
    case "not": {
      // not(a == b) reads better as a != b (numbers: asFloat fails on text either way)
      const INVERSE = { eq: "ne", ne: "eq", gt: "le", le: "gt", lt: "ge", ge: "lt" } as const;
      if (c.of.kind === "compare") return conditionExpr({ ...c.of, op: INVERSE[c.of.op] }, term);
      return `!(${conditionExpr(c.of, term)})`;
    }
    case "and":
    case "or":
      return c.of.map((x) => `(${conditionExpr(x, term)})`).join(c.kind === "and" ? " && " : " || ");
  }
}

/** The `when` field: an expression tag; `}}` never appears inside (literals split braces, see exprString). */
export function whenText(c: Condition, term: (r: Ref) => string): string {
  return `{{=${conditionExpr(c, term)}}}`;
}
