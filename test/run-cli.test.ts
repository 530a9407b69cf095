/**
 * `couler run` from the command line: workflow files written with the DSL, run with
 * `--no-container`, checked through the exit code, the progress lines and the `--json` record.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import type { RunRecord, StepRecord } from "../src/run/record.js";
import { cli } from "./helpers/golden.js";
import { REPO, repoPath } from "./helpers/paths.js";

const tmp = () => mkdtempSync(join(tmpdir(), "couler-run-cli-"));

function readRecord(path: string): RunRecord {
  return JSON.parse(readFileSync(path, "utf8")) as RunRecord;
}
function step(rec: RunRecord, name: string): StepRecord {
  const s = [...rec.steps, ...(rec.onExit ?? [])].find((x) => x.name === name);
  assert.ok(s, `no step ${name}`);
  return s;
}

describe("couler run (CLI)", () => {
  test("a DSL workflow: map over a run-time list, fan-in, when/otherwise, output file, execWhile, exit handler", async () => {
    const json = join(tmp(), "run.json");
    const r = await cli(["run", "test/run-fixtures/pipeline.ts", "--no-container", "--progress", "plain", "--json", json]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "");
    assert.match(r.stderr, /^couler: this local run does not honour:\n {2}- container images: /);
    assert.match(r.stderr, /^\[\d+\.\ds\] step gen: succeeded$/m);
    assert.match(r.stderr, /^\[\d+\.\ds\] step count-to-3#3\/count: succeeded$/m);
    assert.match(r.stderr, /^workflow pipeline: Succeeded in \d+\.\ds \(6 succeeded, 1 skipped\)$/m);
    const rec = readRecord(json);
    assert.equal(rec.status, "Succeeded");
    assert.deepEqual(rec.params, { n: "3" });
    assert.deepEqual(step(rec, "square").items!.map((i) => [i.item, i.outputs!.result]), [
      ["1", "1"],
      ["2", "4"],
      ["3", "9"],
    ]);
    assert.deepEqual(step(rec, "total").outputs, { result: "14", sum: "14" });
    assert.equal(step(rec, "expected").status, "succeeded");
    assert.equal(step(rec, "unexpected").status, "skipped");
    assert.deepEqual(step(rec, "count-to-3").rounds!.map((r) => r[0]!.outputs!.result), ["1", "2", "3"]);
    assert.equal(step(rec, "report").outputs!.result, "status=Succeeded");
    for (const s of rec.steps) assert.match(s.startedAt ?? "", /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  test("--param overrides a default; an unknown --param is a usage error with a suggestion", async () => {
    const json = join(tmp(), "run.json");
    const r = await cli(["run", "test/run-fixtures/pipeline.ts", "--no-container", "--param", "n=2", "--json", json]);
    assert.equal(r.code, 0, r.stderr);
    const rec = readRecord(json);
    assert.equal(step(rec, "total").outputs!.sum, "5");
    assert.equal(step(rec, "expected").status, "skipped");
    assert.equal(step(rec, "unexpected").outputs!.result, "5");
    const bad = await cli(["run", "test/run-fixtures/pipeline.ts", "--no-container", "--param", "m=2"]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /couler: error: workflow "pipeline" has no parameter "m" \(did you mean "n"\?\); parameters: n/);
    assert.equal((await cli(["run", "test/run-fixtures/pipeline.ts", "--no-container", "--param", "novalue"])).code, 2);
    assert.equal((await cli(["run", "test/run-fixtures/pipeline.ts", "--no-container", "-j", "0"])).code, 2);
  });

  test("a failing workflow exits 1: retries, a timeout, and the exit handler for failure", async () => {
    const json = join(tmp(), "run.json");
    const r = await cli(["run", "test/run-fixtures/failing.ts", "--no-container", "--json", json]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /step flaky: exited with code 1; retrying \(attempt 2\) in 0\.05s/);
    // The output was shown as it came, prefixed with the step's name; the failure does not repeat it.
    assert.match(r.stderr, /^flaky +\| trying$/m);
    assert.match(r.stderr, /step flaky: failed: exited with code 1\n(?! {4}\|)/);
    const rec = readRecord(json);
    assert.equal(rec.status, "Failed");
    assert.equal(step(rec, "flaky").attempts, 3);
    assert.equal(step(rec, "slow").message, "timed out after 0.3s (process group killed)");
    assert.equal(step(rec, "alert").status, "succeeded");
    assert.equal(step(rec, "celebrate").status, "skipped");
  });

  test("secrets come from --secrets-file and are masked in what is printed", async () => {
    const dir = tmp();
    writeFileSync(join(dir, "s.json"), JSON.stringify({ api: { token: "tok-9f8e7d" } }));
    const json = join(dir, "run.json");
    const r = await cli(["run", "test/run-fixtures/secret.ts", "--no-container", "--secrets-file", join(dir, "s.json"), "--json", json]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /\| using \*\*\*/);
    assert.ok(!r.stderr.includes("tok-9f8e7d"));
    assert.ok(!readFileSync(json, "utf8").includes("tok-9f8e7d"));
    const missing = await cli(["run", "test/run-fixtures/secret.ts", "--no-container"]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /secret values not found .*\n {2}api\.token \(for env var API_TOKEN of step "use"/);
  });

  test("without a usable container runtime and without --no-container, it refuses with a clear message", async () => {
    const saved = process.env.PATH;
    process.env.PATH = "/nonexistent";
    try {
      const r = await cli(["run", "test/run-fixtures/pipeline.ts"]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /no usable container runtime \(neither docker nor podman is on PATH\).*pass --no-container/);
    } finally {
      process.env.PATH = saved;
    }
  });

  test("an invalid workflow is refused with its diagnostics; several workflows need --workflow", async () => {
    const r = await cli(["run", "fixtures/invalid/cycle.ts", "--no-container"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^fixtures\/invalid\/cycle\.ts:\d+:\d+: error: dependency cycle/m);
    assert.doesNotMatch(r.stderr, /started/);
    const multi = await cli(["run", "fixtures/multi.ts", "--no-container"]);
    assert.equal(multi.code, 1);
    assert.match(multi.stderr, /exports 2 workflows .*pick one with --workflow/);
    const typo = await cli(["run", "fixtures/multi.ts", "--no-container", "--workflow", "nightli"]);
    assert.equal(typo.code, 1);
    assert.match(typo.stderr, /no workflow named "nightli" \(did you mean "nightly"\?\)/);
  });

  test("Ctrl-C stops the running step, still runs the exit handler, and exits 130", async () => {
    const json = join(tmp(), "run.json");
    const child = spawn(process.execPath, [repoPath("dist/src/cli/main.js"), "run", "test/run-fixtures/interrupt.ts", "--no-container", "--json", json], {
      cwd: REPO,
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    const t0 = Date.now();
    child.stderr.on("data", (b: Buffer) => {
      stderr += b.toString();
      if (stderr.includes("step long: started") && !child.killed) child.kill("SIGINT");
    });
    const code = await new Promise<number | null>((r) => child.on("close", r));
    assert.ok(Date.now() - t0 < 15000);
    assert.equal(code, 130, stderr);
    assert.match(stderr, /stopping: interrupted; killing running steps/);
    const rec = readRecord(json);
    assert.equal(rec.interrupted, "interrupted");
    assert.equal(step(rec, "long").message, "stopped: interrupted");
    assert.equal(step(rec, "next").status, "omitted");
    assert.equal(step(rec, "goodbye").outputs!.result, "goodbye");
  });
});
