/**
 * A newcomer's mistakes (issue 13), written in a user project whose steps come from a
 * helper in another file: each is a located diagnostic at the user's own line, exit 1,
 * and no files written.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { describe, test } from "node:test";
import ts from "typescript";
import { declaredExports } from "../src/loader/export-names.js";
import { repoPath } from "./helpers/paths.js";

const BIN = repoPath("dist", "src", "cli", "main.js");

/** A fresh project folder holding `files` (path → text). */
export function project(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "couler-user-"));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

export function couler(args: string[], cwd: string, env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: "utf8", env: { ...process.env, ...env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const HELPER = `import { runContainer, type StepOptions } from "couler";
export const job = (name: string, extra: Partial<StepOptions> = {}) =>
  runContainer({ stepName: name, image: "alpine:3.20", command: ["sh", "-c", "echo " + name], ...extra });
`;

describe("importing a name couler does not export", () => {
  const flow = `// flows/x.ts
import { workflow } from "couler";
import { runStep } from "couler";
import { job } from "../lib/steps.js";
export default workflow("x", () => { job("a"); });
`;

  test("is reported at the import, with a suggestion, with a cold and a warm cache, though unused", () => {
    const dir = project({ "flows/x.ts": flow, "lib/steps.ts": HELPER });
    const cache = join(dir, ".cache");
    const want = `flows/x.ts:3:10: error: "couler" has no export named "runStep" (did you mean "runScript"?)\n`;
    for (const run of ["cold", "warm"]) {
      const r = couler(["validate", "flows/x.ts"], dir, { COULER_CACHE_DIR: cache });
      assert.equal(r.code, 1, `${run}: ${r.stderr}`);
      assert.equal(r.stderr, want, run);
    }
    const r = couler(["compile", "flows/x.ts", "--target", "argo", "-o", "out"], dir, { COULER_CACHE_DIR: cache });
    assert.equal(r.code, 1);
    assert.equal(r.stderr, want);
    assert.ok(!existsSync(join(dir, "out")), "no files written");
  });

  test("a misspelt name in a helper file is reported in the helper; a type imported without `type` is fine", () => {
    const dir = project({
      "flows/x.ts": `import { workflow, StepOptions, type Workflow } from "couler";\nimport { job } from "../lib/steps.js";\nexport default workflow("x", () => { job("a"); });\n`,
      "lib/steps.ts": `import { runContainer, runContianer } from "couler";\nexport const job = (name: string) => runContainer({ stepName: name, image: "alpine", command: ["true"] });\n`,
    });
    const r = couler(["validate", "flows/x.ts"], dir, { COULER_CACHE_DIR: "" });
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `lib/steps.ts:1:24: error: "couler" has no export named "runContianer" (did you mean "runContainer"?)\n`);
  });

  test("a default import is refused with the named form to use", () => {
    const dir = project({ "x.ts": `import couler from "couler";\nexport default couler.workflow("x", () => {});\n` });
    const r = couler(["validate", "x.ts"], dir, { COULER_CACHE_DIR: "" });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^x\.ts:1:8: error: "couler" has no default export/);
  });

  test("the declaration scan finds exactly the names TypeScript sees in index.d.ts", () => {
    const entry = repoPath("dist", "src", "index.d.ts");
    const program = ts.createProgram([entry], { noEmit: true, skipLibCheck: true, types: [] });
    const checker = program.getTypeChecker();
    const sym = checker.getSymbolAtLocation(program.getSourceFile(entry)!)!;
    const want = checker.getExportsOfModule(sym).map((s) => s.name).sort();
    assert.deepEqual([...declaredExports(entry)].sort(), want);
  });
});
