/**
 * Tekton, run: workflows built by hand run through `couler run` and through the Tekton replay
 * (test/replay/tekton/), which runs the emitted YAML as Tekton v1 does. Each case is a defect
 * of issue 11 or a rule the replay must follow; the fixture check is test/replay.test.ts.
 */
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import YAML from "yaml";
import { tektonBackend } from "../backends/tekton/tekton-backend.js";
import { checkCapabilities } from "../src/compile.js";
import { DiagnosticBag } from "../src/diagnostics.js";
import type { Depends, Loc, Step, WorkflowIR } from "../src/ir/types.js";
import { runWorkflow } from "../src/run/interpreter.js";
import { loadFixtures } from "./readback/fixture-runs.js";
import { cleanup, serial } from "./replay/local.js";
import { diffOutcomes, outcomeOfRecord, triage, type RunOutcome } from "./replay/outcome.js";
import { notRunnable, paramsOf, secretsOf } from "./replay/runnable.js";
import { tektonReplay } from "./replay/tekton/replay.js";

after(cleanup);
const loc: Loc = { file: "x.ts", line: 1, col: 1 };
const sh = (name: string, script: string, extra: Partial<Record<string, unknown>> = {}): Step =>
  ({ kind: "container", name, loc, image: "alpine:3.20", command: ["sh", "-c", script], ...extra }) as Step;
const on = (step: string, status: "ok" | "succeeded" | "failed" | "omitted" | "any" = "ok"): Depends => ({ kind: "on", step, status });
const wfOf = (steps: Step[], extra: Partial<WorkflowIR> = {}): WorkflowIR => ({ kind: "Workflow", irVersion: 1, name: "w", source: "x.ts", loc, config: {}, params: [], steps, ...extra });
const env = () => ({ PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/root", LANG: "C.UTF-8" });

/** Compile, run both ways; the outcomes, the differences and those not accepted as known and warned. */
async function both(ir: WorkflowIR, options: Record<string, string> = {}) {
  const bag = new DiagnosticBag();
  for (const d of checkCapabilities(ir, tektonBackend)) bag.add(d);
  const files = tektonBackend.compile(ir, { diagnostics: bag, options });
  assert.deepEqual(bag.items.filter((d) => d.severity === "error").map((d) => d.message), []);
  const replay = tektonReplay(options);
  return serial(async () => {
    const params = paramsOf(ir);
    const secrets = secretsOf(ir);
    const want = outcomeOfRecord(await runWorkflow(ir, { container: "none", params, secrets, env: env(), concurrency: 1 }));
    const got: RunOutcome = await replay.run(files, ir, { params, env: env(), secrets });
    const diffs = diffOutcomes(want, got, "tekton");
    return { want, got, diffs, files, ...triage(diffs, replay.knownDifferences, bag.items) };
  });
}

describe("tekton, run: defects of issue 11", () => {
  test("7. a fan-in of 12 items arrives in item order (Tekton gathers matrix results by TaskRun name: 0, 1, 10, 11, 2, …)", async () => {
    const items = Array.from({ length: 12 }, (_, i) => [`v${i}`]);
    const r = await both(
      wfOf([
        sh("each", 'echo "$0"', { loop: { kind: "items", items }, args: [{ kind: "item" }] }),
        sh("all", 'echo "$0"', { args: [{ kind: "result", step: "each" }], depends: on("each") }),
      ]),
    );
    assert.deepEqual(r.diffs, []);
    assert.equal(r.got.steps.all?.outputs?.result, JSON.stringify(items.map((x) => x[0])));
  });
  test("6. a handled failure leaves the PipelineRun Succeeded; 8. a step after an omitted step is omitted", async () => {
    const r = await both(
      wfOf([
        sh("a", "exit 3"),
        sh("b", "echo handled", { depends: on("a", "failed") }),
        sh("c", "echo after a", { depends: on("a") }),
        sh("d", "echo after c", { depends: on("c") }),
        sh("e", "echo c was omitted", { depends: on("c", "omitted") }),
      ]),
    );
    assert.deepEqual(r.diffs, []);
    assert.equal(r.got.status, "Succeeded");
    assert.deepEqual(
      Object.fromEntries(Object.entries(r.got.steps).map(([k, v]) => [k, v.status])),
      { a: "failed", b: "succeeded", c: "omitted", d: "omitted", e: "succeeded" },
    );
  });
  test("a handled failure is retried first: the outcome step re-fails the TaskRun while retries are left", async () => {
    const r = await both(
      wfOf([sh("a", 'n=$(cat /tmp/couler-tekton-retry 2>/dev/null || echo 0); echo $((n + 1)) > /tmp/couler-tekton-retry; [ "$n" -ge 1 ]', { retry: { limit: 2 } }), sh("b", "echo ok", { depends: on("a", "succeeded") }), sh("z", "rm -f /tmp/couler-tekton-retry", { depends: on("b", "any") })]),
    );
    assert.deepEqual(r.unexplained, []);
    assert.equal(r.got.steps.a?.status, "succeeded");
  });
  test("exit handlers after a workflow timeout: the run's tasks timeout stops the tasks, finally still runs", async () => {
    const ir = wfOf([sh("slow", "sleep 5")], { config: { timeout: 1 }, onExit: [sh("report", "echo exit handler ran")] });
    const r = await both(ir);
    const run = YAML.parseAllDocuments(r.files[0]!.content).map((d) => d.toJS()).find((d) => d.kind === "PipelineRun");
    assert.deepEqual(run.spec.timeouts, { pipeline: "0s", tasks: "1s" });
    assert.deepEqual(r.diffs, []);
    assert.equal(r.got.onExit?.report?.status, "succeeded");
    assert.equal(r.got.status, "Failed");
  });
});

describe("tekton replay: engine rules", () => {
  test("a failed task stops the run from starting unrelated tasks (a warned, known difference)", async () => {
    const r = await both(wfOf([sh("a", "exit 1"), sh("b", "true"), sh("c", "true", { depends: on("b") })]));
    assert.equal(r.got.steps.c?.status, "omitted");
    assert.deepEqual(r.unexplained, []);
    assert.ok(r.accepted.length > 0);
  });
  test("a task skipped by its own condition does not skip the tasks after it", async () => {
    const r = await both(wfOf([sh("a", "true", { when: { kind: "compare", op: "eq", left: "x", right: "y" } }), sh("b", "true", { depends: on("a") })]));
    assert.deepEqual(r.diffs, []);
    assert.equal(r.got.steps.a?.status, "skipped");
    assert.equal(r.got.steps.b?.status, "succeeded");
  });
  test("every runnable fixture ends the same with tasks=separate (Tasks referenced by name)", async () => {
    for (const { fixture, workflow } of await loadFixtures()) {
      const ir = workflow.ir;
      if (notRunnable(ir) || /retry-timeout|runners|coin-flip|conditions|etl/.test(fixture)) continue;
      const bag = new DiagnosticBag();
      for (const d of checkCapabilities(ir, tektonBackend)) bag.add(d);
      const embedded = tektonBackend.compile(ir, { diagnostics: bag, options: {} });
      if (bag.hasErrors) continue;
      const separate = tektonBackend.compile(ir, { diagnostics: new DiagnosticBag(), options: { tasks: "separate" } });
      const ctx = { params: paramsOf(ir), env: env(), secrets: secretsOf(ir) };
      const [a, b] = await serial(async () => [await tektonReplay().run(embedded, ir, ctx), await tektonReplay({ tasks: "separate" }).run(separate, ir, ctx)]);
      assert.deepEqual(diffOutcomes(a!, b!, "tekton-separate"), [], fixture);
    }
  });
});

describe("tekton replay: random cases that ended differently", () => {
  const status = { kind: "workflow", field: "status" } as const;
  test("a fan-out skipped by its own condition: every item skipped, as couler run records it (cases 100024:4, 700058:4)", async () => {
    const r = await both(
      wfOf([
        sh("a", "echo no"),
        sh("each", 'echo "$0"', {
          loop: { kind: "items", items: [["x"], ["y"], ["z"]] },
          args: [{ kind: "item" }],
          when: { kind: "compare", op: "eq", left: { kind: "result", step: "a" }, right: "yes" },
          depends: on("a"),
        }),
      ]),
    );
    assert.deepEqual(r.diffs, []);
    assert.equal(r.got.steps.each?.status, "skipped");
    assert.deepEqual(r.got.steps.each?.items, [{ status: "skipped" }, { status: "skipped" }, { status: "skipped" }]);
  });
  test("the exit handler reads Succeeded where Tekton's $(tasks.status) is Completed (a task was skipped; cases 700049:5, 700055:7, 700096:6)", async () => {
    const r = await both(
      wfOf([sh("a", "true", { when: { kind: "compare", op: "eq", left: "x", right: "y" } })], {
        onExit: [sh("report", 'printf "%s\\n" "$0"', { args: [{ kind: "concat", parts: ["status=", status] }], when: { kind: "compare", op: "eq", left: status, right: "Succeeded" } })],
      }),
    );
    assert.deepEqual(r.diffs, []);
    assert.equal(r.got.onExit?.report?.outputs?.result, "status=Succeeded");
    const report = YAML.parseAllDocuments(r.files[0]!.content).map((d) => d.toJS()).find((d) => d.kind === "Pipeline").spec.finally[0];
    assert.deepEqual(report.taskSpec.steps[0].args, ["status=$(COULER_STATUS_$(params.workflow-status))"]);
  });
  test("a failed run still reads Failed through the status env vars", async () => {
    const r = await both(wfOf([sh("a", "exit 2")], { onExit: [sh("report", 'printf "%s\\n" "$0"', { args: [status] })] }));
    assert.deepEqual(r.unexplained, []);
    assert.equal(r.got.onExit?.report?.outputs?.result, "Failed");
  });
});
