/**
 * `couler import`: Argo YAML files in, one DSL program per workflow out, plus located
 * diagnostics for everything that could not be said in the DSL (warnings: the field stays in
 * the file as a comment) or could not be read at all (errors: nothing is written).
 *
 * ```ts
 * const r = importArgo([{ file: "ci.yaml", text }]);
 * r.files[0] // { path: "ci.ts", content: "…", from: "ci.yaml" }
 * ```
 */
import { error, type Diagnostic } from "../diagnostics.js";
import { planArgoDocument } from "./argo-plan.js";
import { emitPlans } from "./emit-ts.js";
import type { ImportPlan } from "./plan.js";
import { readYamlSource } from "./yaml-source.js";

export interface ImportInput {
  /** How diagnostics name the file. */
  readonly file: string;
  readonly text: string;
}

export interface ImportResult {
  readonly files: readonly { readonly path: string; readonly content: string; readonly from: string }[];
  readonly diagnostics: readonly Diagnostic[];
  /** Errors: no file may be written. */
  readonly failed: boolean;
  /** Something was left out (warnings): the import is incomplete. */
  readonly incomplete: boolean;
}

export function importArgo(inputs: readonly ImportInput[]): ImportResult {
  const diagnostics: Diagnostic[] = [];
  const plans: { plan: ImportPlan; from: string }[] = [];
  for (const input of inputs) {
    const src = readYamlSource(input.file, input.text);
    diagnostics.push(...src.diagnostics);
    if (!src.diagnostics.length && src.docs.length === 0) {
      diagnostics.push(error("not-argo", "no YAML document in the file", { file: input.file, line: 1, col: 1 }));
    }
    for (const doc of src.docs) {
      const r = planArgoDocument(doc);
      diagnostics.push(...r.diagnostics);
      if (r.plan) plans.push({ plan: r.plan, from: input.file });
    }
  }
  const seen = new Map<string, string>();
  for (const { plan, from } of plans) {
    const other = seen.get(plan.path);
    if (other !== undefined) {
      diagnostics.push(error("output-collision", `two workflows import to the same file ${plan.path} (from ${other} and ${from}); import them separately`));
    }
    seen.set(plan.path, from);
  }
  const failed = diagnostics.some((d) => d.severity === "error");
  const incomplete = diagnostics.length > 0;
  if (failed) return { files: [], diagnostics, failed, incomplete };
  const emitted = emitPlans(plans.map((p) => p.plan));
  return { files: emitted.map((f, i) => ({ ...f, from: plans[i]!.from })), diagnostics, failed, incomplete };
}
