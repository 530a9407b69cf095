/**
 * "Write once, run anywhere", checked: every runnable fixture runs through `couler run` (the
 * IR's meaning) and through each engine replay (test/replay/<engine>/, which runs the emitted
 * file the way that engine does), and both must end the same: the workflow's status, each
 * step's status, outputs and fan-in lists. A difference is either fixed or a known difference
 * that the backend warns about at compile time (see `KnownDifference`); a silent one fails.
 */
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { BACKENDS } from "../backends/registry.js";
import { compileWorkflow } from "../src/compile.js";
import type { WorkflowIR } from "../src/ir/types.js";
import { runWorkflow } from "../src/run/interpreter.js";
import { loadFixtures } from "./readback/fixture-runs.js";
import { cleanup, serial } from "./replay/local.js";
import { diffOutcomes, outcomeOfRecord, triage, type Replay, type RunOutcome } from "./replay/outcome.js";
import { REPLAYS } from "./replay/registry.js";
import { notRunnable, paramsOf, secretsOf, seededPython } from "./replay/runnable.js";
import type { Workflow } from "../src/dsl/workflow.js";

const seeded = seededPython();
after(cleanup);

/** The environment every step starts from, for couler run and the replays alike. */
function baseEnv(): Record<string, string> {
  return { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/root", LANG: "C.UTF-8", ...seeded.env };
}

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
    seeded.reset();
    const rec = await runWorkflow(ir, { container: "none", params, secrets, env: baseEnv(), concurrency: 1 });
    const want = outcomeOfRecord(rec);
    seeded.reset();
    let got: RunOutcome;
    try {
      got = await replay.run(compiled.files, ir, { params, env: baseEnv(), secrets });
    } catch (e) {
      return { refused: false, unexplained: [`${replay.target} replay failed: ${e instanceof Error ? e.stack : String(e)}`], accepted: [] };
    }
    return { refused: false, ...triage(diffOutcomes(want, got, replay.target), replay.knownDifferences, compiled.diagnostics) };
  });
}

const fixtures = await loadFixtures();

describe("replays: fixtures end the same on every engine as with couler run", () => {
  test("there are replays and runnable fixtures", () => {
    assert.ok(fixtures.filter((f) => !notRunnable(f.workflow.ir)).length >= 15);
  });
  for (const replay of REPLAYS) {
    for (const { fixture, workflow } of fixtures) {
      const why = notRunnable(workflow.ir);
      const name = `${replay.target}: ${fixture} (${workflow.ir.name})`;
      if (why) {
        test(name, { skip: `not runnable here: ${why}` }, () => {});
        continue;
      }
      test(name, async () => {
        const r = await checkAgainst(workflow, replay);
        assert.deepEqual(r.unexplained, [], `${fixture} on ${replay.target} ends differently from couler run`);
      });
    }
  }
});
