/**
 * Airflow defects of issue 11, each run through the Airflow replay (test/replay/airflow/, the
 * emitted DAG file run as Airflow 2.6.3's `dag.test()` runs it) for both lowerings, and compared
 * with `couler run`. Each test also states the expected engine outcome on its own, so it fails
 * on the DAGs this backend emitted before the fix.
 */
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { airflowBackend } from "../backends/airflow/airflow-backend.js";
import { compileWorkflow } from "../src/compile.js";
import { equal, map, runContainer, setDependencies, setExitHandler, WFStatus, when, workflow, workflowStatus } from "../src/index.js";
import { runWorkflow } from "../src/run/interpreter.js";
import type { Workflow } from "../src/dsl/workflow.js";
import { AIRFLOW_REPLAYS } from "./replay/airflow/airflow-replay.js";
import { cleanup } from "./replay/local.js";
import { diffOutcomes, outcomeOfRecord, type RunOutcome } from "./replay/outcome.js";

after(cleanup);

const sh = (stepName: string, script: string) => runContainer({ stepName, image: "alpine:3.20", command: ["sh", "-c", script] });
const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/root", LANG: "C.UTF-8" };

/** The workflow through couler run and both Airflow replays: the replays' outcomes, each checked equal to couler run's. */
async function runBoth(wf: Workflow): Promise<RunOutcome[]> {
  const rec = await runWorkflow(wf.ir, { container: "none", params: {}, secrets: {}, env, concurrency: 1 });
  const want = outcomeOfRecord(rec);
  const out: RunOutcome[] = [];
  for (const replay of AIRFLOW_REPLAYS) {
    const c = compileWorkflow(wf, airflowBackend, replay.options ?? {});
    assert.deepEqual(c.diagnostics.filter((d) => d.severity === "error"), []);
    const got = await replay.run(c.files, wf.ir, { params: {}, env, secrets: {} });
    assert.deepEqual(diffOutcomes(want, got, `airflow ${JSON.stringify(replay.options)}`), []);
    out.push(got);
  }
  return out;
}

describe("airflow runs end as couler run (issue 11)", () => {
  test("4: a false when skips only its own step: exit handlers run and a failed run still fails", async () => {
    const ok = workflow("when-false-exit", () => {
      const a = sh("a", "echo tails");
      when(equal(a.result, "heads"), () => sh("heads", "echo heads"));
      setExitHandler(WFStatus.Succeeded, () => sh("celebrate", "echo yay"));
      setExitHandler(() => sh("cleanup", "echo cleanup"));
    });
    for (const r of await runBoth(ok)) {
      assert.equal(r.status, "Succeeded");
      assert.equal(r.steps.heads!.status, "skipped");
      assert.equal(r.onExit!.celebrate!.status, "succeeded");
      assert.equal(r.onExit!.cleanup!.status, "succeeded");
    }
    const failing = workflow("when-false-failed", () => {
      const a = sh("a", "echo tails");
      when(equal(a.result, "heads"), () => sh("heads", "echo heads"));
      sh("boom", "exit 3");
      setExitHandler(() => sh("cleanup", "echo cleanup"));
    });
    for (const r of await runBoth(failing)) {
      assert.equal(r.status, "Failed");
      assert.equal(r.onExit!.cleanup!.status, "succeeded");
    }
  });

  test("9: a Failed edge does not fire when the parent never ran (upstream_failed)", async () => {
    const wf = workflow("failed-edge-upstream", () => {
      setDependencies(() => sh("a", "exit 1"), []);
      setDependencies(() => sh("b", "echo b"), ["a"]);
      setDependencies(() => sh("c", "echo c ran because b failed"), ["b.Failed"]);
    });
    for (const r of await runBoth(wf)) {
      assert.equal(r.steps.b!.status, "omitted");
      assert.equal(r.steps.c!.status, "omitted");
      assert.equal(r.status, "Failed");
    }
  });

  test("10: a failure masked by || still fails the run", async () => {
    const wf = workflow("masked-failure", () => {
      setDependencies(() => sh("a", "exit 1"), []);
      setDependencies(() => sh("b", "echo b"), []);
      setDependencies(() => sh("c", "echo c"), "a.Succeeded || b.Succeeded");
    });
    for (const r of await runBoth(wf)) {
      assert.equal(r.steps.c!.status, "succeeded");
      assert.equal(r.status, "Failed");
    }
  });

  test("6, 11: a handled failure leaves the run Succeeded, and the exit handler reads Succeeded", async () => {
    const wf = workflow("handled-failure", () => {
      setDependencies(() => sh("a", "exit 1"), []);
      setDependencies(() => sh("b", "echo handled"), ["a.Failed"]);
      setDependencies(() => sh("c", "echo after a"), ["a"]);
      setExitHandler(() => runContainer({ stepName: "report", image: "alpine:3.20", command: ["echo"], args: [workflowStatus()] }));
    });
    for (const r of await runBoth(wf)) {
      assert.equal(r.status, "Succeeded");
      assert.equal(r.steps.c!.status, "omitted");
      assert.equal(r.onExit!.report!.outputs!.result, "Succeeded");
    }
  });

  test("8: a step plainly after an omitted step is omitted; an explicit Omitted edge runs", async () => {
    const wf = workflow("omitted-chain", () => {
      setDependencies(() => sh("a", "exit 1"), []);
      setDependencies(() => sh("b", "echo b"), ["a.Failed"]);
      setDependencies(() => sh("f", "echo f"), ["a"]);
      setDependencies(() => sh("g", "echo g"), "f.Omitted && b");
      setDependencies(() => sh("h", "echo h"), ["f"]);
    });
    for (const r of await runBoth(wf)) {
      assert.equal(r.steps.h!.status, "omitted");
      assert.equal(r.steps.g!.status, "succeeded");
      assert.equal(r.status, "Succeeded");
    }
  });

  test("12: fan-in text is compact JSON and keeps non-ASCII characters", async () => {
    const wf = workflow("fan-in-text", () => {
      const r = map((x) => runContainer({ stepName: "r", image: "alpine:3.20", command: ["echo", x] }), ["r-1", "r-é"]);
      runContainer({ stepName: "use", image: "alpine:3.20", command: ["echo"], args: [r!.result] });
    });
    for (const r of await runBoth(wf)) assert.equal(r.steps.use!.outputs!.result, '["r-1","r-é"]');
  });
});
