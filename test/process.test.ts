/** The real executable: determinism across cwd, time zone and cache state; files anywhere on disk. */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { BACKENDS } from "../backends/registry.js";
import { goldenDir, readTree } from "./helpers/golden.js";
import { repoPath } from "./helpers/paths.js";

const BIN = repoPath("dist", "src", "cli", "main.js");

function couler(args: string[], cwd: string, env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: "utf8", env: { ...process.env, ...env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("couler executable", () => {
  const all = readdirSync(repoPath("fixtures")).filter((f) => f.endsWith(".ts")).sort();

  for (const target of BACKENDS.map((b) => b.name)) {
    test(`${target}: same bytes whatever the cwd, time zone and cache`, () => {
      // Every fixture this target accepts (its golden shows no failing exit code).
      const fixtures = all
        .filter((f) => !(readTree(goldenDir(target, `fixtures/${f}`)).get("diagnostics.txt") ?? "").includes("exit code:"))
        .map((f) => repoPath("fixtures", f));
      const a = mkdtempSync(join(tmpdir(), "couler-det-a-"));
      const b = mkdtempSync(join(tmpdir(), "couler-det-b-"));
      const r1 = couler(["compile", ...fixtures, "--target", target, "-o", join(a, "out")], repoPath(), {
        TZ: "UTC",
        COULER_CACHE_DIR: join(a, "cache"),
      });
      assert.equal(r1.code, 0, r1.stderr);
      const r2 = couler(["compile", ...fixtures, "--target", target, "-o", join(b, "out")], b, {
        TZ: "Pacific/Chatham",
        COULER_CACHE_DIR: join(a, "cache"), // warm this time
        LANG: "de_DE.UTF-8",
      });
      assert.equal(r2.code, 0, r2.stderr);
      const t1 = readTree(join(a, "out"));
      const t2 = readTree(join(b, "out"));
      assert.ok(t1.size >= fixtures.length);
      assert.deepEqual(t2, t1);
      for (const content of t1.values()) {
        assert.ok(!content.includes(repoPath()), "no absolute path in output");
        assert.ok(!content.includes(a) && !content.includes(b), "no temp path in output");
      }
    });
  }

  test("a workflow file anywhere on disk, importing local .ts modules, compiles", () => {
    const dir = mkdtempSync(join(tmpdir(), "couler-anywhere-"));
    mkdirSync(join(dir, "lib"));
    writeFileSync(
      join(dir, "lib", "steps.ts"),
      'import { runContainer } from "couler";\nexport const say = (text: string): void => {\n  runContainer({ image: "alpine:3.20", command: ["echo", text] });\n};\n',
    );
    writeFileSync(
      join(dir, "flow.ts"),
      'import { workflow } from "couler";\nimport { say } from "./lib/steps.js";\n\nexport default workflow("anywhere", () => {\n  say("one");\n  say("two");\n});\n',
    );
    const r = couler(["compile", "flow.ts", "--target", "ir"], dir, { COULER_CACHE_DIR: "" });
    assert.equal(r.code, 0, r.stderr);
    const ir = JSON.parse(r.stdout);
    assert.deepEqual(ir.steps.map((s: { name: string }) => s.name), ["alpine", "alpine-2"]);
    assert.deepEqual(ir.steps[0].loc, { file: "lib/steps.ts", line: 3, col: 3 });
  });

  test("an exception in the program is one located line, never a stack dump", () => {
    const r = couler(["compile", "fixtures/invalid/throws.ts", "--target", "argo"], repoPath());
    assert.equal(r.code, 1);
    assert.equal(r.stderr, "fixtures/invalid/throws.ts:5:9: error: the workflow program threw Error: config file missing\n");
  });
});

describe("transpile cache", () => {
  test("a compiled workflow file is cached by content and reused; an unwritable cache only costs time", () => {
    const dir = mkdtempSync(join(tmpdir(), "couler-cache-"));
    const cache = join(dir, "cache");
    const r1 = couler(["compile", "fixtures/hello.ts", "--target", "ir"], repoPath(), { COULER_CACHE_DIR: cache });
    assert.equal(r1.code, 0, r1.stderr);
    const entries = readdirSync(cache);
    assert.equal(entries.length, 1);
    // One JSON entry: the transpiled text and the file's imports from "couler" (checked on every load).
    assert.match(entries[0]!, /^[0-9a-f]{64}\.json$/);
    const entry = JSON.parse(readFileSync(join(cache, entries[0]!), "utf8")) as { source: string; imports: { name: string }[] };
    assert.deepEqual(entry.imports.map((i) => i.name), ["workflow", "runContainer"]);
    const r2 = couler(["compile", "fixtures/hello.ts", "--target", "ir"], repoPath(), { COULER_CACHE_DIR: cache });
    assert.equal(r2.stdout, r1.stdout);
    writeFileSync(join(dir, "file"), "");
    const r3 = couler(["compile", "fixtures/hello.ts", "--target", "ir"], repoPath(), { COULER_CACHE_DIR: join(dir, "file", "sub") });
    assert.equal(r3.code, 0, r3.stderr);
    assert.equal(r3.stdout, r1.stdout);
  });
});
