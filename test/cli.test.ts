/** The command line: exit codes, usage errors, output folders, --check, --workflow. */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync, existsSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { cli } from "./helpers/golden.js";

const tmp = () => mkdtempSync(join(tmpdir(), "couler-cli-"));

describe("couler CLI", () => {
  test("compile prints the manifest on stdout and exits 0", async () => {
    const r = await cli(["compile", "fixtures/hello.ts", "--target", "argo"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^apiVersion: argoproj\.io\/v1alpha1\nkind: Workflow\n/);
    assert.equal(r.stderr, "");
  });

  test("an unknown target is a usage error (2) with a suggestion", async () => {
    const r = await cli(["compile", "fixtures/hello.ts", "--target", "argoo"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown target "argoo" \(did you mean "argo"\?\)/);
  });

  test("a missing --target and an unknown flag are usage errors", async () => {
    assert.equal((await cli(["compile", "fixtures/hello.ts"])).code, 2);
    assert.equal((await cli(["compile", "fixtures/hello.ts", "--target", "argo", "--frobnicate"])).code, 2);
    assert.equal((await cli(["frobnicate"])).code, 2);
  });

  test("an unreadable file is a diagnostic (1), not a crash", async () => {
    const r = await cli(["compile", "fixtures/does-not-exist.ts", "--target", "argo"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /cannot read workflow file fixtures\/does-not-exist\.ts: no such file/);
  });

  test("-o writes files; --check passes when fresh and lists stale files otherwise", async () => {
    const dir = tmp();
    assert.equal((await cli(["compile", "fixtures/multi.ts", "--target", "argo", "-o", dir])).code, 0);
    assert.deepEqual(readdirSync(dir).sort(), ["nightly.yaml", "on-demand.yaml"]);
    assert.equal((await cli(["compile", "fixtures/multi.ts", "--target", "argo", "-o", dir, "--check"])).code, 0);
    writeFileSync(join(dir, "nightly.yaml"), "stale\n");
    const r = await cli(["compile", "fixtures/multi.ts", "--target", "argo", "-o", dir, "--check"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /stale: .*nightly\.yaml/);
    assert.equal(readFileSync(join(dir, "nightly.yaml"), "utf8"), "stale\n", "--check writes nothing");
  });

  test("a failed compile with -o leaves the folder untouched", async () => {
    const dir = tmp();
    writeFileSync(join(dir, "keep.yaml"), "mine\n");
    const r = await cli(["compile", "fixtures/hello.ts", "fixtures/invalid/cycle.ts", "--target", "argo", "-o", dir]);
    assert.equal(r.code, 1);
    assert.deepEqual(readdirSync(dir), ["keep.yaml"]);
    assert.equal(readFileSync(join(dir, "keep.yaml"), "utf8"), "mine\n");
    assert.ok(!existsSync(join(dir, "hello.yaml")));
  });

  test("--workflow picks one workflow, and suggests on a typo", async () => {
    const r = await cli(["compile", "fixtures/multi.ts", "--target", "ir", "--workflow", "nightly"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).name, "nightly");
    const bad = await cli(["compile", "fixtures/multi.ts", "--target", "ir", "--workflow", "nightli"]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /no workflow named "nightli" \(did you mean "nightly"\?\)/);
  });

  test("validate reports diagnostics and exits 1, or says ok", async () => {
    assert.equal((await cli(["validate", "fixtures/hello.ts"])).code, 0);
    const r = await cli(["validate", "fixtures/invalid/cycle.ts"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^fixtures\/invalid\/cycle\.ts:\d+:\d+: error: dependency cycle: A -> B -> C -> A$/m);
  });

  test("validate --typecheck reports type errors at their location", async () => {
    const dir = tmp();
    const file = join(dir, "typed.ts");
    writeFileSync(file, 'import { workflow, runContainer } from "couler";\nexport default workflow("t", () => {\n  runContainer({ image: 42 });\n});\n');
    const r = await cli(["validate", "--typecheck", file]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /typed\.ts:3:18: error: TS2322: Type 'number' is not assignable to type 'string'/);
  });

  test("every fixture type-checks against the package's own types", async () => {
    const { readdirSync } = await import("node:fs");
    const { repoPath } = await import("./helpers/paths.js");
    const files = readdirSync(repoPath("fixtures")).filter((f) => f.endsWith(".ts")).map((f) => `fixtures/${f}`);
    const r = await cli(["validate", "--typecheck", ...files]);
    assert.doesNotMatch(r.stderr, /TS\d+/, r.stderr);
  });

  test("targets lists every backend", async () => {
    const r = await cli(["targets"]);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^argo /m);
    assert.match(r.stdout, /^ir /m);
  });
});
