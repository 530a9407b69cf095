/** Compile-time warnings for what Argo runs differently from the IR and the backend cannot write around. */
import { parentsOf, producersOf, refsOfStep } from "../../src/ir/graph.js";
import type { Loc, Step } from "../../src/ir/types.js";

/**
 * Argo rules that end a run differently from the IR and cannot be written around:
 * - a map whose items were all skipped: its TaskGroup/step group ends Succeeded
 *   (dag.go executeDAGTask groupPhase, steps.go executeStepGroup), where the IR says skipped;
 * - a step that errors (a condition or value that cannot be evaluated, a missing output file):
 *   a steps template ends Failed whatever its child's phase (steps.go executeSteps), and a DAG
 *   takes the phase of its first failing leaf in name order (dag.go assessDAGPhase, failFast),
 *   where the IR says Error only when every unhandled failure is an error.
 */
export function warnRunDifferences(steps: readonly Step[], warn: (message: string, loc: Loc) => void): void {
  for (const mapWhen of steps.filter((s) => s.loop && s.when)) {
    const after = downstream(steps, mapWhen.name);
    const then = after.length ? `; then the steps after it (${after.map((n) => `"${n}"`).join(", ")}) and the workflow's status may differ` : "";
    warn(`step "${mapWhen.name}" fans out with a condition: when every item is skipped, Argo marks the step Succeeded where couler run says skipped${then}`, mapWhen.loc);
  }
  const mayError = steps.find((s) => s.when || s.loop?.kind === "from" || s.outputs?.length || refsOfStep(s).some((r) => r.kind === "result" || r.kind === "output"));
  if (mayError) {
    warn(
      `step "${mayError.name}" can end in error (a condition or value that cannot be evaluated, a missing output file): Argo then ends the workflow Failed or Error by its own rules (a steps template fails; a DAG takes its first failing leaf's phase), where couler run says Error only when every unhandled failure is an error`,
      mayError.loc,
    );
  }
}

/** Names of the steps that wait on `name`, directly or not (by `depends` or by reading its values). */
function downstream(steps: readonly Step[], name: string): string[] {
  const out = new Set<string>([name]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const s of steps) {
      if (out.has(s.name)) continue;
      if ([...parentsOf(s), ...producersOf(s)].some((p) => out.has(p))) {
        out.add(s.name);
        grew = true;
      }
    }
  }
  out.delete(name);
  return [...out];
}
