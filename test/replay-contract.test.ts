/**
 * The pieces every engine replay shares: Kubernetes expansion of container fields, the
 * comparison of two run outcomes, and the rule that a known difference needs its warning.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { describe, test } from "node:test";
import type { Diagnostic } from "../src/diagnostics.js";
import { kubeContainer, kubeExpand } from "./replay/kube-expand.js";
import { diffOutcomes, triage, type RunOutcome } from "./replay/outcome.js";
import { runLocal } from "./replay/local.js";

describe("replays: Kubernetes expansion (kubelet's expand.go)", () => {
  const vars = new Map([
    ["A", "1"],
    ["HOME", "/h"],
  ]);
  test("$(NAME) of a defined var is replaced; an undefined one stays as written", () => {
    assert.equal(kubeExpand("x$(A)y", vars), "x1y");
    assert.equal(kubeExpand("$(NOPE) $(HOME)", vars), "$(NOPE) /h");
  });
  test("$$ is one $, so $$(A) stays a literal $(A); a lone $ and ${A} stay", () => {
    assert.equal(kubeExpand("cost $$5 $$(A) $(A)", vars), "cost $5 $(A) 1");
    assert.equal(kubeExpand("$ ${A} $", vars), "$ ${A} $");
    assert.equal(kubeExpand("$(A", vars), "$(A");
  });
  test("env values see only the vars defined before them; command and args see all", () => {
    const c = kubeContainer(["echo", "$(B)", "$(C)"], [
      { name: "B", value: "b$(C)" },
      { name: "C", value: "c$(B)" },
    ]);
    assert.deepEqual(c.env, { B: "b$(C)", C: "cb$(C)" });
    assert.deepEqual(c.argv, ["echo", "b$(C)", "cb$(C)"]);
  });
});

describe("replays: comparing outcomes", () => {
  const base: RunOutcome = {
    status: "Failed",
    steps: {
      a: { status: "failed" },
      b: { status: "omitted" },
      m: { status: "succeeded", outputs: { result: '["1","2"]' }, items: [{ status: "succeeded", outputs: { result: "1" } }, { status: "succeeded", outputs: { result: "2" } }] },
    },
    onExit: { bye: { status: "succeeded", outputs: { result: "status=Failed" } } },
  };
  test("the same outcome has no differences", () => assert.deepEqual(diffOutcomes(base, structuredClone(base), "x"), []));
  test("status, step, output, item and exit-step differences are each one line", () => {
    const got = structuredClone(base) as { -readonly [K in keyof RunOutcome]: RunOutcome[K] } & { steps: Record<string, unknown>; onExit: Record<string, unknown> };
    got.status = "Succeeded";
    got.steps.b = { status: "succeeded" };
    got.steps.m = { status: "succeeded", outputs: { result: "[1,2]" }, items: [{ status: "succeeded", outputs: { result: "1" } }, { status: "failed" }] };
    got.onExit.bye = { status: "succeeded", outputs: { result: "status=Succeeded" } };
    assert.deepEqual(diffOutcomes(base, got, "argo"), [
      "workflow: Failed by couler run, Succeeded on argo",
      'step "b": omitted by couler run, succeeded on argo',
      'step "m" output result: "[\\"1\\",\\"2\\"]" by couler run, "[1,2]" on argo',
      'step "m"[1]: succeeded by couler run, failed on argo',
      'exit step "bye" output result: "status=Failed" by couler run, "status=Succeeded" on argo',
    ]);
  });
  test("a fan-out skipped as a whole matches one with no instances; a skipped step's real items do not", () => {
    const a: RunOutcome = { status: "Succeeded", steps: { m: { status: "skipped", items: [{ status: "skipped" }, { status: "skipped" }] } } };
    const b: RunOutcome = { status: "Succeeded", steps: { m: { status: "skipped" } } };
    const c: RunOutcome = { status: "Succeeded", steps: { m: { status: "skipped", items: [{ status: "succeeded" }] } } };
    assert.deepEqual(diffOutcomes(a, b, "t"), []);
    assert.deepEqual(diffOutcomes(c, b, "t"), ['step "m": 1 items by couler run, 0 on t']);
  });
  test("a missing step is a difference", () => {
    const got: RunOutcome = { ...base, steps: { a: base.steps.a!, m: base.steps.m! } };
    assert.deepEqual(diffOutcomes(base, got, "t"), ['step "b": omitted by couler run, absent on t']);
  });
  test("a known difference is accepted only when the backend warned about it", () => {
    const known = [{ match: /step "b"/, warning: /b may run/, why: "test" }];
    const warned: Diagnostic[] = [{ severity: "warning", code: "x", message: "step b may run after an omitted parent", loc: { file: "f.ts", line: 1, col: 1 } } as Diagnostic];
    const diffs = ['step "b": omitted by couler run, succeeded on t', 'step "c": failed by couler run, succeeded on t'];
    assert.deepEqual(triage(diffs, known, warned), { accepted: [diffs[0]], unexplained: [diffs[1]] });
    assert.deepEqual(triage(diffs, known, []), { accepted: [], unexplained: diffs });
  });
});

describe("replays: a container as a local process", () => {
  test("runs in a private folder that is its cwd and TMPDIR, and removes fresh paths first", async () => {
    writeFileSync("/tmp/couler-replay-fresh-test", "left from an earlier container");
    const r = await runLocal({ argv: ["sh", "-c", 'test ! -e "$0" && pwd && echo "$TMPDIR"', "/tmp/couler-replay-fresh-test"], env: { PATH: process.env.PATH! }, fresh: ["/tmp/couler-replay-fresh-test"] });
    const [cwd, tmp] = r.stdout.trim().split("\n");
    assert.equal(r.exitCode, 0, r.stderr);
    assert.equal(cwd, r.dir);
    assert.equal(tmp, r.dir);
  });
});
