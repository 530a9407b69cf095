/**
 * The compile driver: a built workflow and a backend in, files and diagnostics out.
 * It refuses features the backend declares unsupported before the backend runs, so no
 * backend can drop a feature silently.
 */
import type { Backend, OutputFile } from "../backends/backend.js";
import { DiagnosticBag, type Diagnostic } from "./diagnostics.js";
import type { Workflow } from "./dsl/workflow.js";
import { FEATURES, featuresOf } from "./ir/features.js";
import type { WorkflowIR } from "./ir/types.js";

export interface CompileOutput {
  readonly files: readonly OutputFile[];
  /** Located relative to the workflow's `baseDir`. */
  readonly diagnostics: readonly Diagnostic[];
}

/** Diagnostics for every feature `wf` uses that `backend` cannot express (or drops). */
export function checkCapabilities(wf: WorkflowIR, backend: Backend): Diagnostic[] {
  const bag = new DiagnosticBag();
  for (const use of featuresOf(wf, (f) => backend.capabilities[f] !== "yes")) {
    const support = backend.capabilities[use.feature];
    if (support === "yes") continue;
    const what = `${FEATURES[use.feature]}, used by ${use.where},`;
    if ("unsupported" in support) {
      bag.error("unsupported", `${what} is not supported on target ${backend.name}: ${support.unsupported}`, use.loc);
    } else {
      bag.warning("dropped", `${what} is not fully expressible on target ${backend.name}: ${support.warn}`, use.loc);
    }
  }
  return bag.items;
}

export function compileWorkflow(
  wf: Workflow,
  backend: Backend,
  options: Readonly<Record<string, string>> = {},
): CompileOutput {
  const bag = new DiagnosticBag();
  for (const d of wf.diagnostics) bag.add(d);
  if (bag.hasErrors) return { files: [], diagnostics: bag.items };
  for (const d of checkCapabilities(wf.ir, backend)) bag.add(d);
  if (bag.hasErrors) return { files: [], diagnostics: bag.items };
  const files = backend.compile(wf.ir, { diagnostics: bag, options, secretValues: wf.secretValues });
  return { files: bag.hasErrors ? [] : files, diagnostics: bag.items };
}
