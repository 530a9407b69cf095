/**
 * `couler run` as a newcomer sees it (issue 13): each step's output as it comes, prefixed
 * with the step's name; steps that never ran counted as omitted; items that take turns
 * over a shared output path said so on the first line.
 */
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import type { ContainerStep, Depends, Loc, Step, WorkflowIR } from "../src/ir/types.js";
import { runWorkflow, type RunEvent } from "../src/run/interpreter.js";
import { progress } from "../src/run/progress.js";
import { cli } from "./helpers/golden.js";

const loc: Loc = { file: "t.ts", line: 1, col: 1 };
const sh = (name: string, script: string, more: Partial<ContainerStep> = {}): ContainerStep => ({
  kind: "container",
  name,
  loc,
  image: "alpine:3.20",
  command: ["sh", "-c", script],
  ...more,
});
const on = (step: string, status: "ok" | "succeeded" | "failed"): Depends => ({ kind: "on", step, status });
const wf = (steps: Step[]): WorkflowIR => ({ kind: "Workflow", irVersion: 1, name: "t", source: "t.ts", loc, config: {}, params: [], steps });

describe("couler run: step output as it comes", () => {
  test("each line is an event (secrets masked); plain progress prefixes it with the step name; quiet hides it", async () => {
    const events: RunEvent[] = [];
    const ir = wf([
      sh("build", "echo one; echo two >&2; printf \"no newline $TOKEN\"", { secretEnv: [{ name: "TOKEN", secret: "s", key: "k" }] }),
      sh("t", "echo short", { depends: on("build", "ok") }),
    ]);
    const rec = await runWorkflow(ir, { container: "none", secrets: { s: { k: "hunter2" } } }, (e) => events.push(e));
    assert.equal(rec.status, "Succeeded");
    const lines = events.flatMap((e) => (e.type === "output" ? [`${e.step}:${e.stream}:${e.line}`] : []));
    assert.deepEqual(lines.filter((l) => l.startsWith("build:stdout")), ["build:stdout:one", "build:stdout:no newline ***"]);
    assert.ok(lines.includes("build:stderr:two"));
    assert.ok(lines.includes("t:stdout:short"));

    let out = "";
    const p = progress((x) => (out += x), { live: false, nameWidth: 5, now: () => 0 });
    for (const e of events) p.onEvent(e);
    assert.match(out, /^build \| one$/m);
    assert.match(out, /^t {5}\| short$/m, "names padded so the bars line up");
    let quiet = "";
    const q = progress((x) => (quiet += x), { live: false, quiet: true, now: () => 0 });
    for (const e of events) q.onEvent(e);
    assert.doesNotMatch(quiet, /\| (one|short)/);

    let live = "";
    const l = progress((x) => (live += x), { live: true, now: () => 0, columns: 80 });
    for (const e of events) l.onEvent(e);
    l.finish(rec);
    assert.match(live, /build \|\x1b\[0m one\n/, "the live view shows output above its footer");
  });

  test("a failed step whose output was shown is not repeated as a log tail; with quiet the tail shows", async () => {
    const events: RunEvent[] = [];
    await runWorkflow(wf([sh("bad", "echo why; exit 3")]), { container: "none" }, (e) => events.push(e));
    let out = "";
    const p = progress((x) => (out += x), { live: false, now: () => 0 });
    for (const e of events) p.onEvent(e);
    assert.equal(out.match(/why/g)?.length, 1);
    let quiet = "";
    const q = progress((x) => (quiet += x), { live: false, quiet: true, now: () => 0 });
    for (const e of events) q.onEvent(e);
    assert.match(quiet, /step bad: failed: exited with code 3\n {4}\| why\n/);
  });
});

describe("couler run: what never ran is omitted", () => {
  test("steps after a failed download that read its result are omitted, not failed (error), and counted so", async () => {
    // download fails; cleanup runs whatever happens; unpack (after cleanup) reads download's result.
    const ir = wf([
      sh("download", "exit 1"),
      sh("cleanup", "echo cleanup", { depends: { kind: "or", of: [on("download", "succeeded"), on("download", "failed")] } }),
      sh("unpack", "x", { args: [{ kind: "result", step: "download" }], depends: on("cleanup", "ok") }),
      sh("count", "echo 3", { depends: on("unpack", "ok") }),
      sh("index", "echo i", { depends: on("count", "ok") }),
    ]);
    const events: RunEvent[] = [];
    const rec = await runWorkflow(ir, { container: "none" }, (e) => events.push(e));
    const status = Object.fromEntries(rec.steps.map((s) => [s.name, s.errored ? "errored" : s.status]));
    assert.deepEqual(status, { download: "failed", cleanup: "succeeded", unpack: "omitted", count: "omitted", index: "omitted" });
    assert.equal(rec.steps.find((s) => s.name === "unpack")!.message, `it reads the result of "download", which failed`);
    let out = "";
    const p = progress((x) => (out += x), { live: false, now: () => 0 });
    for (const e of events) p.onEvent(e);
    p.finish(rec);
    assert.doesNotMatch(out, /failed \(error\)/);
    assert.match(out, /\(1 succeeded, 1 failed, 3 omitted\)\n$/);
  });
});

describe("couler run (CLI): output, quiet, shared output paths", () => {
  const dir = mkdtempSync(join(tmpdir(), "couler-run-out-"));
  const out = join(dir, "out.txt");
  const file = join(dir, "flow.ts");
  writeFileSync(
    file,
    `import { workflow, runContainer, map, createParameterArtifact } from "couler";
export default workflow("shared", () => {
  const part = map((n) => runContainer({ stepName: "part", image: "alpine", command: ["sh", "-c", \`echo part \${n}; echo \${n} > ${out}\`],
    output: createParameterArtifact(${JSON.stringify(out)}, { name: "n" }) }), [1, 2, 3]);
  runContainer({ stepName: "sum", image: "alpine", command: ["echo", part!.output("n")] });
});
`,
  );

  test("the first line says that map items writing one path take turns; output lines are prefixed; --quiet hides them", async () => {
    const r = await cli(["run", file, "--no-container", "--progress", "plain"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr.split("\n")[0], `couler: items of "part" write ${out}: they run one at a time (a shared path on this machine; see src/run/README.md)`);
    assert.match(r.stderr, /^part\[1\] \| part 2$/m);
    assert.match(r.stderr, /^sum {5}\| \["1","2","3"\]$/m);
    const q = await cli(["run", file, "--no-container", "--progress", "plain", "--quiet"]);
    assert.equal(q.code, 0, q.stderr);
    assert.doesNotMatch(q.stderr, /\| part/);
  });
});
