/**
 * "Write once, run anywhere", checked: every runnable fixture runs through `couler run` (the
 * IR's meaning) and through each engine replay (test/replay/<engine>/, which runs the emitted
 * file the way that engine does), and both must end the same: the workflow's status, each
 * step's status, outputs and fan-in lists. A difference is either fixed or a known difference
 * that the backend warns about at compile time (see `KnownDifference`); a silent one fails.
 */
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { runWorkflow } from "../src/run/interpreter.js";
import { loadFixtures } from "./readback/fixture-runs.js";
import { baseEnv, checkAgainst, disposeCheck, fresh, randomCases } from "./replay/check.js";
import { REPLAYS } from "./replay/registry.js";
import { notRunnable, paramsOf } from "./replay/runnable.js";
import { runnableWorkflow } from "./helpers/runnable-workflow.js";

after(disposeCheck);

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


describe("replays: random workflows with failures, retries, conditions, status dependencies and exit handlers", () => {
  // 24 through couler run and the first 10 through every replay per `npm test` (the suite's time
  // budget); more with REPLAY_RANDOM_RUNS=N, another draw with REPLAY_SEED=S, or `npm run fuzz -- --replay`
  const all = randomCases(Math.max(24, Number(process.env.REPLAY_RANDOM_RUNS ?? 10)), Number(process.env.REPLAY_SEED ?? 1));
  const cases = all.slice(0, Number(process.env.REPLAY_RANDOM_RUNS ?? 10));
  test("couler run ends these workflows in every way (succeeded, failed; skipped and omitted steps)", async () => {
    const seen = new Set<string>();
    for (const { seed, size } of all) {
      const wf = runnableWorkflow(seed, size);
      assert.deepEqual(wf.diagnostics.filter((d) => d.severity === "error"), [], `case ${seed}:${size} is not a valid workflow`);
      fresh();
      const rec = await runWorkflow(wf.ir, { container: "none", params: paramsOf(wf.ir), env: baseEnv(), concurrency: 1 });
      seen.add(rec.status);
      for (const st of rec.steps) seen.add(st.status);
    }
    for (const want of ["Succeeded", "Failed", "succeeded", "failed", "skipped", "omitted"]) assert.ok(seen.has(want), `no random workflow had a ${want} outcome: ${[...seen].join(", ")}`);
  });
  for (const replay of REPLAYS) {
    test(`${replay.target}${replay.options ? ` ${JSON.stringify(replay.options)}` : ""}: ${cases.length} random workflows end as with couler run`, async () => {
      const problems: string[] = [];
      for (const { seed, size } of cases) {
        const r = await checkAgainst(runnableWorkflow(seed, size), replay);
        if (r.unexplained.length) problems.push(`case ${seed}:${size} (npm run fuzz -- --replay ${replay.target} --case ${seed}:${size}):\n  ${r.unexplained.join("\n  ")}`);
      }
      assert.deepEqual(problems, []);
    });
  }
});
