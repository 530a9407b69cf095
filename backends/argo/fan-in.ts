/**
 * Fan-in: a step that reads a fanned-out step's `.result` or output gets the JSON list of its
 * succeeded items' values, in item order; a result that is a JSON object stays an object, any
 * other value is a string (src/run/interpreter.ts `stepValue`, `objectOrText`).
 *
 * Argo's own aggregate does not give that (`workflow/controller/operator.go`
 * processAggregateNodeOutputs): it `json.Unmarshal`s every item's stdout, so plain text fails
 * the loop node (argoproj/argo-workflows#10775) and `1` becomes a number; and an output's list
 * (aggregatedJSONValueList) holds strings unless every value is a JSON object or list.
 *
 * So each item runs through a small `steps` template (the item template) that calls the
 * step and exports, per value read, one output parameter holding `j` + the JSON text of the
 * list element (`valueFrom.expression`, workflow/controller/scope.go resolveParameter). The
 * `j` keeps Argo from reading the value as JSON, so the aggregate is always the list of these
 * texts, and the reader's expression strips the `j`s and joins the elements:
 * `'[' + join(map(fromJSON(agg), {trimPrefix(#, 'j')}), ',') + ']'`.
 * JSON text is written by Go (`toJson`, util/expr/env/env.go): `<`, `>` and `&` are escaped
 * as `\u003c`… and object keys come sorted, where `couler run` writes them as they are; the
 * backend warns about that.
 * A result that starts with `{` but is not JSON (`{x}`) stays text: it is tested with Sprig's
 * `fromJson` (`sprig.fromJson`, util/expr/env/env.go), which gives nil for text that is not JSON,
 * where expr's `fromJSON` would fail the expression and so the item.
 */
import type { Ref } from "../../src/ir/types.js";
import { exprRef } from "./expr-text.js";

/** The item template's output parameter carrying `value` (`result` or a declared output's name). */
export function fanInParam(value: string | undefined): string {
  return value === undefined ? "couler-result" : `couler-out-${value}`;
}

/** The output-parameter expression of the item template, for the inner call `task` (a steps template). */
export function elementExpr(task: string, value: string | undefined): string {
  const at = exprRef(`steps.${task}.outputs.${value === undefined ? "result" : `parameters.${value}`}`);
  if (value !== undefined) return `'j' + toJson(${at})`;
  return `'j' + ((${at} matches '^\\\\s*\\\\{') && sprig.fromJson(${at}) != nil ? toJson(sprig.fromJson(${at})) : toJson(${at}))`;
}

/** The reader's expression term for the fan-in list, given the path of the aggregated parameter. */
export function fanInTerm(aggregatePath: string): string {
  return `('[' + join(map(fromJSON(${exprRef(aggregatePath)}), {trimPrefix(#, 'j')}), ',') + ']')`;
}

/** Is `r` a fan-in: a value of a fanned-out step? */
export function isFanIn(r: Ref, looped: (step: string) => boolean): boolean {
  return (r.kind === "result" || r.kind === "output") && looped(r.step);
}
