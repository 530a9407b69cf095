/**
 * What a finished call adds to its graph template's scope (`steps.NAME.…` / `tasks.NAME.…`).
 *
 * - One node (operator.go buildLocalScope): `outputs.result` when captured,
 *   `outputs.parameters.X`, `status`. Skipped and omitted nodes add no outputs, so reading them
 *   fails (operator.go addSkippedNodeOutputsToScope leaves absent optionals).
 * - A loop (operator.go processAggregateNodeOutputs): over the items that Succeeded, in item
 *   order: `outputs.result` is the JSON list of each item's result read with json.Unmarshal
 *   (text that is not JSON fails the whole graph: argoproj/argo-workflows#10775);
 *   `outputs.parameters` the JSON list of each item's parameter map; `outputs.parameters.X`
 *   the list of X's values, parsed when every value is a JSON object or list, else as strings
 *   (aggregatedJSONValueList).
 * - Result capture (operator.go includeScriptOutput / hasOutputResultRef): the calling
 *   template's JSON matches `steps.NAME.outputs.result` or `steps['NAME'].outputs.result`.
 */
import { goJson } from "./expr.js";
import type { NodeRes, Obj } from "./node.js";

export function captures(parent: Obj, kind: "steps" | "tasks", name: string): boolean {
  const json = JSON.stringify(parent);
  const q = name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`${kind}\\.${q}\\.outputs\\.result`).test(json) || new RegExp(`${kind}\\[['"]${q}['"]\\]\\.outputs.result`).test(json);
}

export function addNode(scope: Map<string, string>, kind: "steps" | "tasks", name: string, n: NodeRes): void {
  const at = `${kind}.${name}`;
  scope.set(`${at}.status`, n.phase);
  if (n.phase !== "Succeeded" || !n.outputs) return;
  if (n.outputs.result !== undefined) scope.set(`${at}.outputs.result`, n.outputs.result);
  for (const [k, v] of Object.entries(n.outputs.parameters)) scope.set(`${at}.outputs.parameters.${k}`, v);
}

/** Returns an error message when the aggregate cannot be built (the graph then errors). */
export function addAggregate(scope: Map<string, string>, kind: "steps" | "tasks", name: string, items: readonly NodeRes[]): string | undefined {
  const at = `${kind}.${name}`;
  const results: string[] = [];
  const paramList: Record<string, string>[] = [];
  const byName = new Map<string, string[]>();
  for (const n of items) {
    if (n.phase !== "Succeeded" || !n.outputs) continue;
    const ps = Object.entries(n.outputs.parameters);
    if (ps.length) {
      paramList.push(Object.fromEntries(ps));
      for (const [k, v] of ps) byName.set(k, [...(byName.get(k) ?? []), v]);
    }
    if (n.outputs.result !== undefined) {
      try {
        results.push(JSON.stringify(JSON.parse(n.outputs.result)));
      } catch (e) {
        return `processAggregateNodeOutputs: ${(e as Error).message}`;
      }
    }
  }
  scope.set(`${kind}.${name}.status`, items.some((i) => i.phase === "Failed" || i.phase === "Error") ? "Failed" : "Succeeded");
  scope.set(`${at}.outputs.result`, `[${results.join(",")}]`);
  scope.set(`${at}.outputs.parameters`, goJson(paramList));
  for (const [k, values] of byName) {
    const parsed = values.map((v) => {
      try {
        return JSON.parse(v) as unknown;
      } catch {
        return undefined;
      }
    });
    const allStructured = parsed.every((p) => p !== null && typeof p === "object");
    scope.set(`${at}.outputs.parameters.${k}`, allStructured ? goJson(parsed) : goJson(values));
  }
  return undefined;
}
