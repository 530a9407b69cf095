/** Load every valid fixture once and compile it with each backend, in-process. */
import type { OutputFile } from "../../backends/backend.js";
import { BACKENDS } from "../../backends/registry.js";
import { compileWorkflow } from "../../src/compile.js";
import type { Workflow } from "../../src/dsl/workflow.js";
import { loadWorkflowFile } from "../../src/loader/load.js";
import { listFixtures } from "../helpers/golden.js";
import { repoPath } from "../helpers/paths.js";

export interface FixtureWorkflow {
  readonly fixture: string;
  readonly workflow: Workflow;
}

/** Every workflow exported by the valid fixtures. */
export async function loadFixtures(): Promise<FixtureWorkflow[]> {
  const out: FixtureWorkflow[] = [];
  for (const fixture of listFixtures().filter((f) => !f.startsWith("fixtures/invalid/"))) {
    const r = await loadWorkflowFile(repoPath(fixture), fixture);
    for (const w of r.workflows) out.push({ fixture, workflow: w.workflow });
  }
  return out;
}

/** Files a backend emits for a workflow, or undefined when it refuses it (an error diagnostic). */
export function compileWith(target: string, wf: Workflow, options: Readonly<Record<string, string>> = {}): OutputFile[] | undefined {
  const backend = BACKENDS.find((b) => b.name === target);
  if (!backend) throw new Error(`no backend ${target}`);
  const r = compileWorkflow(wf, backend, options);
  if (r.diagnostics.some((d) => d.severity === "error")) return undefined;
  return [...r.files];
}
