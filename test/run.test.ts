/**
 * The local interpreter, end to end: real processes (`sh`, `node` one-liners) run with
 * `--no-container` semantics, checked through the run record. IR is built by hand so each
 * test shows exactly the construct it exercises.
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import type { Condition, ContainerStep, Depends, Loc, ResultRef, Step, Value, WorkflowIR } from "../src/ir/types.js";
import { backoffDelay, runWorkflow, RunSetupError, type RunEvent, type RunOptions } from "../src/run/interpreter.js";
import { maskSecrets, readSecretsFile, RunInputError } from "../src/run/inputs.js";
import type { RunRecord, StepRecord } from "../src/run/record.js";
import { progress } from "../src/run/progress.js";
import { probeRuntime } from "../src/run/runtime.js";

const loc: Loc = { file: "t.ts", line: 1, col: 1 };
/** Running (not a zombie: a killed process may wait for a reaper that this machine's init does not run). */
function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  }
}
const tmp = () => mkdtempSync(join(tmpdir(), "couler-run-test-"));

function sh(name: string, script: string, more: Partial<ContainerStep> = {}): ContainerStep {
  return { kind: "container", name, loc, image: "alpine:3.20", command: ["sh", "-c", script], ...more };
}
const after = (...steps: string[]): Depends =>
  steps.length === 1 ? { kind: "on", step: steps[0]!, status: "ok" } : { kind: "and", of: steps.map((s) => ({ kind: "on", step: s, status: "ok" })) };
const on = (step: string, status: Depends extends infer D ? (D extends { kind: "on"; status: infer S } ? S : never) : never): Depends => ({ kind: "on", step, status });
const eq = (left: Value, right: Value): Condition => ({ kind: "compare", op: "eq", left, right });
const result = (step: string): ResultRef => ({ kind: "result", step });

function wf(steps: Step[], more: Partial<WorkflowIR> = {}): WorkflowIR {
  return { kind: "Workflow", irVersion: 1, name: "t", source: "t.ts", loc, config: {}, params: [], steps, ...more };
}

async function run(ir: WorkflowIR, opts: Partial<RunOptions> = {}): Promise<{ rec: RunRecord; events: RunEvent[] }> {
  const events: RunEvent[] = [];
  const rec = await runWorkflow(ir, { container: "none", ...opts }, (e) => events.push(e));
  return { rec, events };
}

function step(rec: RunRecord, name: string): StepRecord {
  const s = [...rec.steps, ...(rec.onExit ?? [])].find((x) => x.name === name);
  assert.ok(s, `no step ${name} in the record`);
  return s;
}

describe("couler run: outputs and values", () => {
  test("stdout becomes result without its final newline; declared output files reach consumers", async () => {
    const out = join(tmp(), "accuracy");
    const ir = wf([
      {
        kind: "script",
        name: "train",
        loc,
        image: "node:22",
        command: ["node"],
        language: "javascript",
        source: `require("fs").writeFileSync(${JSON.stringify(out)}, "0.93\\n"); console.log("trained"); console.log("line 2");`,
        outputs: [{ name: "accuracy", path: out, loc }],
      },
      sh("report", 'echo "acc=$ACC"; printf "%s" "$1"', {
        args: ["--", { kind: "concat", parts: ["log=", result("train")] }],
        env: [{ name: "ACC", value: { kind: "output", step: "train", output: "accuracy" } }],
        depends: after("train"),
      }),
    ]);
    const { rec } = await run(ir);
    assert.equal(rec.status, "Succeeded");
    const train = step(rec, "train");
    assert.deepEqual(train.outputs, { result: "trained\nline 2", accuracy: "0.93" });
    assert.equal(train.exitCode, 0);
    assert.equal(train.attempts, 1);
    assert.ok(train.startedAt && train.finishedAt && train.startedAt <= train.finishedAt);
    assert.equal(step(rec, "report").outputs!.result, "acc=0.93\nlog=trained\nline 2");
  });

  test("a declared output the step did not write fails it as an error; a stale file does not count", async () => {
    const out = join(tmp(), "never-written");
    writeFileSync(out, "old\n");
    const { rec } = await run(wf([sh("lazy", "true", { outputs: [{ name: "x", path: out, loc }] })]));
    const s = step(rec, "lazy");
    assert.equal(s.status, "failed");
    assert.equal(s.errored, true);
    assert.match(s.message!, /did not write .*never-written \(an older file is there\)/);
    assert.equal(rec.status, "Error");
    assert.equal(readFileSync(out, "utf8"), "old\n", "the user's file is left alone");
  });

  test("parallel map instances writing the same output path each read their own value", async () => {
    const out = join(tmp(), "shared-out");
    const ir = wf([
      {
        ...sh("w", `printf %s "$ITEM" > ${out}; sleep 0.05`, { env: [{ name: "ITEM", value: { kind: "item" } }] }),
        outputs: [{ name: "v", path: out, loc }],
        loop: { kind: "items", items: [["a"], ["b"], ["c"], ["d"]] },
      },
      sh("collect", 'printf %s "$1"', { args: ["--", { kind: "output", step: "w", output: "v" }], depends: after("w") }),
    ]);
    const { rec } = await run(ir, { concurrency: 4 });
    assert.equal(rec.status, "Succeeded");
    assert.deepEqual(step(rec, "w").items!.map((i) => i.outputs!.v), ["a", "b", "c", "d"]);
    assert.equal(step(rec, "collect").outputs!.result, '["a","b","c","d"]');
  });

  test("parameters: defaults, overrides, unknown names with a suggestion, missing values", async () => {
    const ir = wf([sh("p", 'printf "%s %s" "$1" "$2"', { args: ["--", { kind: "param", name: "day" }, { kind: "param", name: "env" }] })], {
      params: [
        { name: "day", default: "mon", loc },
        { name: "env", loc },
      ],
    });
    const { rec } = await run(ir, { params: { env: "prod" } });
    assert.equal(step(rec, "p").outputs!.result, "mon prod");
    assert.deepEqual(rec.params, { day: "mon", env: "prod" });
    await assert.rejects(run(ir, { params: { env: "x", dya: "tue" } }), (e: Error) => e instanceof RunInputError && /no parameter "dya" \(did you mean "day"\?\)/.test(e.message));
    await assert.rejects(run(ir), (e: Error) => e instanceof RunInputError && /parameter "env" has no default: pass --param env=<value>/.test(e.message));
  });

  test("the workflow name is a value", async () => {
    const { rec } = await run(wf([sh("n", 'printf %s "$1"', { args: ["--", { kind: "workflow", field: "name" }] })]));
    assert.equal(step(rec, "n").outputs!.result, "t");
  });
});

describe("couler run: ordering and status dependencies", () => {
  test("failed, succeeded, any and not: the failure is handled, so the workflow succeeds", async () => {
    const ir = wf([
      sh("A", "echo boom >&2; exit 3"),
      sh("B", "echo on-failure", { depends: on("A", "failed") }),
      sh("C", "echo on-success", { depends: on("A", "succeeded") }),
      sh("D", "echo always", { depends: on("A", "any") }),
      sh("E", "echo after-C", { depends: after("C") }), // C was omitted, so E is too (a bare dependency means C succeeded)
      sh("F", "echo not-succeeded", { depends: { kind: "not", of: on("A", "succeeded") } }),
      sh("G", "echo either", { depends: { kind: "or", of: [on("C", "succeeded"), on("B", "succeeded")] } }),
    ]);
    const { rec, events } = await run(ir);
    const st = Object.fromEntries(rec.steps.map((s) => [s.name, s.status]));
    assert.deepEqual(st, { A: "failed", B: "succeeded", C: "omitted", D: "succeeded", E: "omitted", F: "succeeded", G: "succeeded" });
    assert.equal(step(rec, "A").exitCode, 3);
    assert.equal(step(rec, "A").message, "exited with code 3");
    assert.match(step(rec, "C").message!, /dependencies were not met \(A\.succeeded: failed\)/);
    const end = events.find((e) => e.type === "end" && e.step === "A");
    assert.ok(end && end.type === "end" && end.log === "boom", "a failure shows the end of its output");
    assert.equal(rec.status, "Succeeded");
  });

  test("an unhandled failure fails the workflow; steps after it are omitted", async () => {
    const { rec } = await run(wf([sh("A", "exit 1"), sh("B", "true", { depends: after("A") }), sh("C", "true")]));
    assert.equal(rec.status, "Failed");
    assert.equal(step(rec, "B").status, "omitted");
    assert.equal(step(rec, "C").status, "succeeded");
  });

  test("a command that does not exist is an error (errored), matched by errored dependencies", async () => {
    const ir = wf([
      { kind: "container", name: "X", loc, image: "i", command: ["couler-no-such-command-xyz"] },
      sh("onErr", "true", { depends: on("X", "errored") }),
      sh("onFail", "true", { depends: on("X", "failed") }),
    ]);
    const { rec } = await run(ir);
    assert.equal(step(rec, "X").errored, true);
    assert.match(step(rec, "X").message!, /command not found: couler-no-such-command-xyz/);
    assert.equal(step(rec, "onErr").status, "succeeded");
    assert.equal(step(rec, "onFail").status, "omitted");
  });

  test("-j 1 runs one step at a time; independent steps overlap otherwise", async () => {
    const steps = ["a", "b", "c"].map((n) => sh(n, "sleep 0.15"));
    const overlaps = (rec: RunRecord) => {
      const spans = rec.steps.map((s) => [Date.parse(s.startedAt!), Date.parse(s.finishedAt!)] as const).sort((x, y) => x[0] - y[0]);
      return spans.some((s, i) => i > 0 && s[0] < spans[i - 1]![1]);
    };
    assert.equal(overlaps((await run(wf(steps), { concurrency: 1 })).rec), false);
    assert.equal(overlaps((await run(wf(steps), { concurrency: 3 })).rec), true);
  });
});

describe("couler run: conditions", () => {
  test("when: a true condition runs, a false one skips (which counts as ok downstream); numbers compare as numbers", async () => {
    const ir = wf([
      sh("flip", "echo heads"),
      sh("heads", "echo H", { when: eq(result("flip"), "heads"), depends: after("flip") }),
      sh("tails", "echo T", { when: { kind: "not", of: eq(result("flip"), "heads") }, depends: after("flip") }),
      sh("big", "echo big", { when: { kind: "compare", op: "gt", left: "10", right: "9" } }),
      sh("after-tails", "echo ran", { depends: after("tails") }),
    ]);
    const { rec } = await run(ir);
    assert.equal(step(rec, "heads").status, "succeeded");
    assert.equal(step(rec, "tails").status, "skipped");
    assert.equal(step(rec, "tails").message, 'condition is false: !(flip.result == "heads")');
    assert.equal(step(rec, "big").status, "succeeded", '"10" > "9" numerically');
    assert.equal(step(rec, "after-tails").status, "succeeded");
    assert.equal(rec.status, "Succeeded");
  });

  test("a numeric comparison of text is an error, not a guess", async () => {
    const { rec } = await run(wf([sh("x", "true", { when: { kind: "compare", op: "lt", left: "abc", right: "1" } })]));
    assert.equal(step(rec, "x").errored, true);
    assert.match(step(rec, "x").message!, /cannot compare "abc" \(left\) as a number/);
  });
});

describe("couler run: map", () => {
  test("static zipped lists, and fan-in of results in item order", async () => {
    const ir = wf([
      {
        ...sh("pair", 'sleep "0.0$3"; printf "%s-%s" "$1" "$2"', {
          args: ["--", { kind: "item", index: 0 }, { kind: "item", index: 1 }, { kind: "item", index: 2 }],
        }),
        loop: { kind: "items", items: [["a", "1", "9"], ["b", "2", "1"], ["c", "3", "5"]] },
      },
      sh("sum", 'printf %s "$1"', { args: ["--", result("pair")], depends: after("pair") }),
    ]);
    const { rec } = await run(ir);
    const pair = step(rec, "pair");
    assert.equal(pair.status, "succeeded");
    assert.deepEqual(pair.items!.map((i) => [i.index, i.item, i.outputs!.result]), [
      [0, '["a","1","9"]', "a-1"],
      [1, '["b","2","1"]', "b-2"],
      [2, '["c","3","5"]', "c-3"],
    ]);
    assert.equal(step(rec, "sum").outputs!.result, '["a-1","b-2","c-3"]');
  });

  test("a run-time JSON list of objects, item fields, a condition per item, parallelism, and anySucceeded", async () => {
    const ir = wf([
      sh("list", `echo '[{"id":"a","n":1},{"id":"b","n":0},{"id":"c","n":2}]'`),
      {
        ...sh("proc", 'sleep 0.1; [ "$1" != c ] || exit 1; echo "{\\"id\\":\\"$1\\"}"', { args: ["--", { kind: "item", field: "id" }] }),
        when: { kind: "compare", op: "gt", left: { kind: "item", field: "n" }, right: "0" },
        loop: { kind: "from", source: result("list"), parallelism: 1 },
        depends: after("list"),
      },
      sh("some", 'printf %s "$1"', { args: ["--", result("proc")], depends: on("proc", "anySucceeded") }),
    ]);
    const { rec } = await run(ir, { concurrency: 4 });
    const proc = step(rec, "proc");
    assert.deepEqual(proc.items!.map((i) => i.status), ["succeeded", "skipped", "failed"]);
    assert.deepEqual(proc.items!.map((i) => i.item), ['{"id":"a","n":1}', '{"id":"b","n":0}', '{"id":"c","n":2}']);
    assert.equal(proc.status, "failed");
    assert.equal(proc.message, "1 of 3 items failed");
    // parallelism 1: the two instances that ran did not overlap
    const ran = proc.items!.filter((i) => i.startedAt);
    assert.ok(Date.parse(ran[1]!.startedAt!) >= Date.parse(ran[0]!.finishedAt!));
    // a JSON-object result stays an object in the fan-in list
    assert.equal(step(rec, "some").outputs!.result, '[{"id":"a"}]');
    assert.equal(rec.status, "Succeeded", "anySucceeded handles the failed item");
  });

  test("a run-time list that is not JSON fails the step as an error", async () => {
    const ir = wf([sh("list", "echo not-json"), { ...sh("each", "true"), loop: { kind: "from", source: result("list") }, depends: after("list") }]);
    const { rec } = await run(ir);
    assert.equal(step(rec, "each").errored, true);
    assert.match(step(rec, "each").message!, /cannot read the map list: expected a JSON list, got "not-json"/);
  });

  test("an empty run-time list succeeds with no items and fans in to []", async () => {
    const ir = wf([
      sh("list", "echo '[]'"),
      { ...sh("each", "echo x"), loop: { kind: "from", source: result("list") }, depends: after("list") },
      sh("all", 'printf %s "$1"', { args: ["--", result("each")], depends: after("each") }),
    ]);
    const { rec } = await run(ir);
    assert.equal(step(rec, "each").status, "succeeded");
    assert.deepEqual(step(rec, "each").items, []);
    assert.equal(step(rec, "all").outputs!.result, "[]");
  });
});

describe("couler run: execWhile", () => {
  test("the body repeats while the condition over its outputs holds", async () => {
    const counter = join(tmp(), "n");
    writeFileSync(counter, "0");
    const ir = wf([
      {
        kind: "while",
        name: "loop",
        loc,
        condition: { kind: "compare", op: "lt", left: result("count"), right: "3" },
        body: [sh("count", `n=$(( $(cat ${counter}) + 1 )); echo $n > ${counter}; echo $n`)],
      },
      sh("done", "echo done", { depends: after("loop") }),
    ]);
    const { rec, events } = await run(ir);
    const loop = step(rec, "loop");
    assert.equal(loop.status, "succeeded");
    assert.deepEqual(loop.rounds!.map((r) => r[0]!.outputs!.result), ["1", "2", "3"]);
    assert.equal(step(rec, "done").status, "succeeded");
    assert.ok(events.some((e) => e.type === "end" && e.step === "loop#2/count"));
  });

  test("a loop that never ends is stopped at the round limit with a clear error", async () => {
    const ir = wf([{ kind: "while", name: "forever", loc, condition: eq("a", "a"), body: [sh("tick", "echo x")] }]);
    const { rec } = await run(ir, { maxWhileRounds: 3 });
    const s = step(rec, "forever");
    assert.equal(s.status, "failed");
    assert.equal(s.rounds!.length, 3);
    assert.match(s.message!, /\("a" == "a"\) still held after 3 rounds: stopped \(raise the limit with --max-rounds\)/);
  });

  test("a failing round fails the loop", async () => {
    const ir = wf([{ kind: "while", name: "w", loc, condition: eq(result("b"), "x"), body: [sh("b", "exit 4")] }]);
    const { rec } = await run(ir);
    assert.equal(step(rec, "w").status, "failed");
    assert.match(step(rec, "w").message!, /round 1 failed: step "b" failed/);
    assert.equal(rec.status, "Failed");
  });
});

describe("couler run: retries, timeouts, exit handlers, interruption", () => {
  test("retries with backoff until success, and the delays follow duration × factor^n", async () => {
    const counter = join(tmp(), "tries");
    writeFileSync(counter, "0");
    const ir = wf([
      sh("flaky", `n=$(( $(cat ${counter}) + 1 )); echo $n > ${counter}; [ $n -ge 3 ]`, {
        retry: { limit: 4, backoff: { duration: 0.05, factor: 2 } },
      }),
    ]);
    const { rec, events } = await run(ir);
    assert.equal(step(rec, "flaky").status, "succeeded");
    assert.equal(step(rec, "flaky").attempts, 3);
    assert.deepEqual(
      events.filter((e) => e.type === "retry").map((e) => (e.type === "retry" ? [e.attempt, e.delay] : [])),
      [
        [2, 0.05],
        [3, 0.1],
      ],
    );
    assert.equal(backoffDelay({ limit: 5, backoff: { duration: 10, factor: 2 } }, 3), 40);
  });

  test("a step that keeps failing stops after its retry limit, or when backoff maxDuration is reached", async () => {
    const { rec } = await run(wf([sh("bad", "exit 2", { retry: { limit: 2 } }), sh("capped", "exit 2", { retry: { limit: 9, backoff: { duration: 0.2, maxDuration: 0.3 } } })]));
    assert.equal(step(rec, "bad").attempts, 3);
    assert.equal(step(rec, "bad").exitCode, 2);
    assert.equal(step(rec, "capped").attempts, 2);
    assert.match(step(rec, "capped").message!, /no more retries: the backoff maxDuration of 0.3s was reached/);
  });

  test("a timeout kills the whole process group, background children included", async () => {
    const pidFile = join(tmp(), "pid");
    const t0 = Date.now();
    const { rec } = await run(wf([sh("slow", `sleep 30 & echo $! > ${pidFile}; wait`, { timeout: 0.3 })]));
    assert.ok(Date.now() - t0 < 5000);
    const s = step(rec, "slow");
    assert.equal(s.status, "failed");
    assert.equal(s.message, "timed out after 0.3s (process group killed)");
    const pid = Number(readFileSync(pidFile, "utf8"));
    await new Promise((r) => setTimeout(r, 100));
    assert.ok(!alive(pid), "the background sleep is gone");
  });

  test("the exit handler runs after a failure and reads workflow.status", async () => {
    const status = { kind: "workflow", field: "status" } as const;
    const ir = wf([sh("main", "exit 1")], {
      onExit: [
        sh("on-fail", 'printf "%s" "$1"', { args: ["--", { kind: "concat", parts: ["status=", status] }], when: eq(status, "Failed") }),
        sh("on-ok", "echo ok", { when: eq(status, "Succeeded") }),
      ],
    });
    const { rec, events } = await run(ir);
    assert.equal(rec.status, "Failed");
    assert.equal(rec.mainStatus, "Failed");
    assert.equal(step(rec, "on-fail").outputs!.result, "status=Failed");
    assert.equal(step(rec, "on-ok").status, "skipped");
    assert.ok(events.some((e) => e.type === "phase" && e.status === "Failed"));
  });

  test("a failing exit handler fails an otherwise successful run", async () => {
    const { rec } = await run(wf([sh("main", "true")], { onExit: [sh("cleanup", "exit 1")] }));
    assert.equal(rec.mainStatus, "Succeeded");
    assert.equal(rec.status, "Failed");
  });

  test("stopping (Ctrl-C) kills running steps, omits the rest, and still runs the exit handler", async () => {
    const ac = new AbortController();
    const ir = wf([sh("long", "sleep 30"), sh("next", "true", { depends: after("long") })], { onExit: [sh("bye", "echo bye")] });
    const t0 = Date.now();
    const p = run(ir, { signal: ac.signal });
    setTimeout(() => ac.abort(), 200);
    const { rec } = await p;
    assert.ok(Date.now() - t0 < 5000);
    assert.equal(step(rec, "long").status, "failed");
    assert.equal(step(rec, "long").message, "stopped: interrupted");
    assert.equal(step(rec, "next").status, "omitted");
    assert.equal(step(rec, "bye").outputs!.result, "bye");
    assert.equal(rec.status, "Failed");
    assert.equal(rec.interrupted, "interrupted");
  });

  test("a second stop (Ctrl-C twice) also ends the exit handler", async () => {
    const soft = new AbortController();
    const hard = new AbortController();
    const ir = wf([sh("long", "sleep 30")], { onExit: [sh("slow-cleanup", "sleep 30")] });
    const t0 = Date.now();
    setTimeout(() => soft.abort(), 150);
    setTimeout(() => hard.abort(), 400);
    const { rec } = await run(ir, { signal: soft.signal, hardSignal: hard.signal });
    assert.ok(Date.now() - t0 < 5000);
    assert.equal(step(rec, "slow-cleanup").message, "stopped: interrupted");
    assert.equal(rec.status, "Failed");
  });

  test("the workflow timeout stops the run", async () => {
    const { rec } = await run(wf([sh("long", "sleep 30")], { config: { timeout: 0.3 } }));
    assert.equal(rec.status, "Failed");
    assert.match(rec.interrupted!, /workflow timeout of 0.3s/);
  });

  test("a daemon keeps running while later steps run and is stopped at the end", async () => {
    const dir = tmp();
    const ir = wf([
      sh("server", `echo up > ${dir}/up; sleep 30`, { daemon: true }),
      sh("client", `sleep 0.1; cat ${dir}/up`, { depends: after("server") }),
    ]);
    const t0 = Date.now();
    const { rec } = await run(ir);
    assert.ok(Date.now() - t0 < 5000, "the daemon was stopped");
    assert.equal(step(rec, "server").daemon, true);
    assert.equal(step(rec, "client").outputs!.result, "up");
    assert.equal(rec.status, "Succeeded");
  });
});

describe("couler run: secrets, env and what cannot run locally", () => {
  test("secret values reach the step but never the record", async () => {
    const ir = wf([sh("use", 'echo "token is $TOKEN"; echo "user $DB_USER"', { secretEnv: [{ name: "TOKEN", secret: "api", key: "token" }, { name: "DB_USER", secret: "db", key: "user" }] })]);
    const { rec } = await run(ir, { secrets: { api: { token: "s3cr3t-value" } }, env: { PATH: process.env.PATH, COULER_SECRET_DB_USER: "admin-xyz" } });
    assert.equal(step(rec, "use").outputs!.result, "token is ***\nuser ***");
    assert.ok(!JSON.stringify(rec).includes("s3cr3t-value"));
    await assert.rejects(run(ir, { env: { PATH: process.env.PATH } }), (e: Error) => e instanceof RunSetupError && /api\.token \(for env var TOKEN of step "use"; or set COULER_SECRET_API_TOKEN or TOKEN\)/.test(e.message));
  });

  test("secrets files: JSON and dotenv", () => {
    const dir = tmp();
    writeFileSync(join(dir, "s.json"), '{"db": {"password": "pw", "port": 5432}}');
    assert.deepEqual(readSecretsFile(join(dir, "s.json")), { db: { password: "pw", port: "5432" } });
    writeFileSync(join(dir, "s.env"), '# comment\ndb.password="p w"\nexport TOKEN=abc\n');
    assert.deepEqual(readSecretsFile(join(dir, "s.env")), { db: { password: "p w" }, "*": { TOKEN: "abc" } });
    assert.equal(maskSecrets("a-pw-b-pwx", new Set(["pw", "pwx"])), "a-***-b-***");
  });

  test("env values and TMPDIR: each step has a private temporary folder", async () => {
    const ir = wf([sh("a", 'printf "%s|%s" "$MODE" "$TMPDIR"', { env: [{ name: "MODE", value: "fast" }] }), sh("b", 'printf %s "$TMPDIR"')]);
    const { rec } = await run(ir);
    const [mode, dirA] = step(rec, "a").outputs!.result!.split("|");
    assert.equal(mode, "fast");
    assert.notEqual(dirA, step(rec, "b").outputs!.result);
    assert.ok(!existsSync(dirA!), "private folders are removed after the run");
  });

  test("resource and template steps are errors, announced up front with everything else skipped", async () => {
    const ir = wf([
      { kind: "resource", name: "job", loc, action: "create", manifest: "kind: Job\n" },
      { kind: "templateRef", name: "call", loc, ref: { name: "lib", template: "t" } },
      sh("pinned", "true", { nodeSelector: { gpu: "yes" } }),
    ]);
    const { rec, events } = await run(ir);
    assert.match(step(rec, "job").message!, /Kubernetes resource step \(kubectl create\) cannot run locally/);
    assert.match(step(rec, "call").message!, /template "t" of workflow template "lib" is installed on a cluster/);
    assert.equal(rec.status, "Error");
    const first = events[0]!;
    assert.equal(first.type, "skipped-features");
    assert.equal(events.filter((e) => e.type === "skipped-features").length, 1);
    assert.deepEqual(rec.skippedFeatures.map((l) => l.split(",")[0]), [
      "container images: --no-container runs each step's command on this machine",
      "a Kubernetes resource step (runJob)",
      "a call to a template of an installed workflow template (runTemplate)",
      "a node selector (nodeSelector)",
    ]);
  });
});

describe("couler run: through a container runtime", () => {
  /** A stand-in for docker: logs each call, "runs" by echoing what it was asked, copies fake output files. */
  function fakeRuntime(): { bin: string; log: string; dir: string } {
    const dir = tmp();
    const log = join(dir, "calls.jsonl");
    const bin = join(dir, "docker");
    writeFileSync(
      bin,
      `#!${process.execPath}
const fs = require("fs");
const args = process.argv.slice(2);
const envs = {};
for (let i = 0; i < args.length; i++) if (args[i] === "-e") envs[args[i + 1]] = process.env[args[i + 1]];
fs.appendFileSync(${JSON.stringify(log)}, JSON.stringify({ args, envs }) + "\\n");
if (args[0] === "run") {
  const withValue = new Set(["--name", "-e", "-w", "--pull", "-v", "--entrypoint"]);
  let i = 1;
  const opts = {};
  while (args[i].startsWith("-")) { opts[args[i]] = args[i + 1]; i += withValue.has(args[i]) ? 2 : 1; }
  process.stdout.write("ran " + JSON.stringify({ entrypoint: opts["--entrypoint"] ?? null, image: args[i], rest: args.slice(i + 1) }) + "\\n");
} else if (args[0] === "cp") {
  fs.writeFileSync(args[2], "from " + args[1] + "\\n");
}
`,
      { mode: 0o755 },
    );
    return { bin, log, dir };
  }

  test("steps become `run` calls: entrypoint and args, env by name only, script mounted, outputs copied out, containers removed", async () => {
    const fake = fakeRuntime();
    const ir = wf([
      sh("c", "echo hi", {
        image: "alpine:3.20",
        args: ["--flag", { kind: "param", name: "p" }],
        env: [{ name: "MODE", value: "fast" }],
        secretEnv: [{ name: "TOKEN", secret: "api", key: "token" }],
        workingDir: "/work",
        imagePullPolicy: "IfNotPresent",
        outputs: [{ name: "out", path: "/tmp/out", loc }],
      }),
      { kind: "script", name: "s", loc, image: "python:3.12", command: ["python"], source: "print(1)", language: "python" },
      { kind: "container", name: "entry", loc, image: "busybox", args: ["x"] },
    ], { params: [{ name: "p", default: "v", loc }] });
    const { rec } = await run(ir, { container: { runtime: fake.bin }, secrets: { api: { token: "tk-secret" } }, env: { PATH: process.env.PATH } });
    assert.equal(rec.status, "Succeeded", JSON.stringify(rec, null, 1));
    assert.ok(!rec.skippedFeatures.some((l) => l.startsWith("container images")));
    const c = step(rec, "c");
    assert.deepEqual(JSON.parse(c.outputs!.result!.slice(4)), { entrypoint: "sh", image: "alpine:3.20", rest: ["-c", "echo hi", "--flag", "v"] });
    assert.match(c.outputs!.out!, /^from couler-\d+-\d+-c:\/tmp\/out$/);
    assert.deepEqual(JSON.parse(step(rec, "s").outputs!.result!.slice(4)), { entrypoint: "python", image: "python:3.12", rest: ["/couler/script.py"] });
    assert.deepEqual(JSON.parse(step(rec, "entry").outputs!.result!.slice(4)), { entrypoint: null, image: "busybox", rest: ["x"] });
    const calls = readFileSync(fake.log, "utf8").trim().split("\n").map((l) => JSON.parse(l) as { args: string[]; envs: Record<string, string> });
    const runC = calls.find((x) => x.args[0] === "run" && x.args.includes("alpine:3.20"))!;
    assert.deepEqual(runC.envs, { MODE: "fast", TOKEN: "tk-secret" }, "values reach the runtime through its environment");
    assert.ok(!runC.args.some((a) => a.includes("tk-secret") || a.includes("fast")), "no value on the runtime's command line");
    assert.ok(runC.args.includes("-w") && runC.args.includes("/work"));
    assert.deepEqual(runC.args.slice(runC.args.indexOf("--pull"), runC.args.indexOf("--pull") + 2), ["--pull", "missing"]);
    const runS = calls.find((x) => x.args[0] === "run" && x.args.includes("python:3.12"))!;
    assert.match(runS.args[runS.args.indexOf("-v") + 1]!, /:\/couler:ro$/);
    const names = calls.filter((x) => x.args[0] === "run").map((x) => x.args[x.args.indexOf("--name") + 1]);
    const removed = calls.filter((x) => x.args[0] === "rm").map((x) => x.args[2]);
    assert.deepEqual([...removed].sort(), [...names].sort(), "every container is removed");
  });

  test("the runtime probe: usable when `info` answers, a reason otherwise", async () => {
    const fake = fakeRuntime();
    assert.deepEqual(await probeRuntime({ PATH: fake.dir }), { runtime: "docker", why: "" });
    assert.deepEqual(await probeRuntime({ PATH: "/nonexistent" }), { why: "neither docker nor podman is on PATH" });
    const down = tmp();
    writeFileSync(join(down, "podman"), "#!/bin/sh\necho 'cannot connect to the daemon' >&2\nexit 1\n", { mode: 0o755 });
    assert.deepEqual(await probeRuntime({ PATH: down }), { why: "podman is on PATH but not usable (cannot connect to the daemon)" });
  });
});

describe("couler run: progress display", () => {
  const record: RunRecord = {
    workflow: "w",
    status: "Failed",
    mainStatus: "Failed",
    startedAt: "",
    finishedAt: "",
    params: {},
    skippedFeatures: [],
    steps: [
      { name: "a", kind: "container", status: "succeeded", attempts: 1 },
      { name: "b", kind: "container", status: "failed", attempts: 2 },
    ],
  };

  test("plain lines carry the elapsed time; failures show their output", () => {
    let t = 1000;
    let out = "";
    const p = progress((x) => (out += x), { live: false, now: () => t });
    p.onEvent({ type: "start", step: "a", attempt: 1 });
    t = 13300;
    p.onEvent({ type: "end", step: "a", status: "succeeded" });
    p.onEvent({ type: "end", step: "b", status: "failed", message: "exited with code 1", log: "oops\nbad" });
    p.finish(record);
    assert.equal(
      out,
      "[0.0s] step a: started\n[12.3s] step a: succeeded\n[12.3s] step b: failed: exited with code 1\n    | oops\n    | bad\nworkflow w: Failed in 12.3s (1 succeeded, 1 failed)\n",
    );
  });

  test("the live view redraws a footer of running steps, cut to the terminal's width", () => {
    let out = "";
    const p = progress((x) => (out += x), { live: true, now: () => 0, columns: 30 });
    p.onEvent({ type: "start", step: "a-step-with-a-very-long-name-indeed", attempt: 1 });
    p.onEvent({ type: "end", step: "a-step-with-a-very-long-name-indeed", status: "succeeded" });
    p.finish(record);
    assert.match(out, /\x1b\[2A\x1b\[J/, "the footer is erased before redrawing");
    for (const line of out.split("\n")) {
      if (line.includes("running")) assert.ok(line.replace(/\x1b\[[0-9;]*[A-Za-z]/g, "").length <= 29, line);
    }
    assert.ok(out.endsWith("workflow w: Failed in 0.0s (1 succeeded, 1 failed)\n"));
  });
});
