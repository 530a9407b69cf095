/**
 * One workflow through `couler run` and through one engine replay, in the same environment, and
 * the differences that no known, warned difference explains. Used by test/replay.test.ts and
 * `npm run fuzz -- --replay`.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BACKENDS } from "../../backends/registry.js";
import { compileWorkflow } from "../../src/compile.js";
import type { Workflow } from "../../src/dsl/workflow.js";
import type { WorkflowIR } from "../../src/ir/types.js";
import { runWorkflow } from "../../src/run/interpreter.js";
import { cleanup, serial } from "./local.js";
import { diffOutcomes, outcomeOfRecord, triage, type Replay, type RunOutcome } from "./outcome.js";
import { paramsOf, secretsOf, seededPython } from "./runnable.js";

const seeded = seededPython();
/** Where retried steps count their attempts; emptied before each run. */
const state = mkdtempSync(join(tmpdir(), "couler-state-"));
/** Remove what the check made (call once, at the end). */
export function disposeCheck(): void {
  cleanup();
  rmSync(state, { recursive: true, force: true });
  rmSync(seeded.dir, { recursive: true, force: true });
}
export function fresh(): void {
  seeded.reset();
  rmSync(state, { recursive: true, force: true });
  mkdirSync(state);
}

/** The environment every step starts from, for couler run and the replays alike. */
export function baseEnv(): Record<string, string> {
  return { PATH: `${seeded.bin}:${process.env.PATH ?? "/usr/bin:/bin"}`, HOME: process.env.HOME ?? "/root", LANG: "C.UTF-8", COULER_TEST_STATE: state, ...seeded.env };
}

/** couler run's outcome per workflow: the same for every replay (every run starts from `fresh()`). */
const expected = new WeakMap<Workflow, RunOutcome>();

/** Run `wf` through couler run and through `replay`; the differences not accepted as known and warned. */
export async function checkAgainst(wf: Workflow, replay: Replay): Promise<{ refused: boolean; unexplained: string[]; accepted: string[] }> {
  const ir: WorkflowIR = wf.ir;
  const backend = BACKENDS.find((b) => b.name === replay.target);
  assert.ok(backend, `no backend ${replay.target}`);
  const compiled = compileWorkflow(wf, backend, replay.options ?? {});
  if (compiled.diagnostics.some((d) => d.severity === "error")) return { refused: true, unexplained: [], accepted: [] };
  const params = paramsOf(ir);
  const secrets = secretsOf(ir);
  return serial(async () => {
    let want = expected.get(wf);
    if (!want) {
      fresh();
      const rec = await runWorkflow(ir, { container: "none", params, secrets, env: baseEnv(), concurrency: 1 });
      want = outcomeOfRecord(rec);
      expected.set(wf, want);
    }
    fresh();
    let got: RunOutcome;
    try {
      got = await replay.run(compiled.files, ir, { params, env: baseEnv(), secrets });
    } catch (e) {
      return { refused: false, unexplained: [`${replay.target} replay failed: ${e instanceof Error ? e.stack : String(e)}`], accepted: [] };
    }
    return { refused: false, ...triage(diffOutcomes(want, got, replay.target), replay.knownDifferences, compiled.diagnostics) };
  });
}


/** `n` random cases from `seed`: sizes 1 to 8. */
export function randomCases(n: number, seed: number): { seed: number; size: number }[] {
  return Array.from({ length: n }, (_, k) => ({ seed: seed * 100_003 + k, size: 1 + ((k * 7) % 8) }));
}
