/**
 * `couler import`: every Argo golden of this project and every workflow in
 * test/import-fixtures/ imports into a program that compiles back to the same workflow
 * (read with the neutral-graph reader, plus what each step runs); every generated file
 * type-checks; the CLI reports what it leaves out at its YAML line and writes atomically.
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { typecheck } from "../src/cli/typecheck.js";
import { cli } from "./helpers/golden.js";
import { roundTrip } from "./helpers/import-roundtrip.js";
import { repoPath } from "./helpers/paths.js";

const tmp = () => mkdtempSync(join(tmpdir(), "couler-import-test-"));

/** Every `.yaml` under `dir`, repo-relative. */
function yamlFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(repoPath(d)).sort()) {
      const p = `${d}/${name}`;
      if (statSync(repoPath(p)).isDirectory()) walk(p);
      else if (name.endsWith(".yaml")) out.push(p);
    }
  };
  walk(dir);
  return out;
}

const generated: string[] = [];
const workDir = tmp();

describe("couler import: round trip", () => {
  for (const [what, dir, complete] of [["golden", "golden/argo", true], ["fixture", "test/import-fixtures", false]] as const) {
    for (const file of yamlFiles(dir)) {
      test(`${what} ${file}`, async () => {
        const text = readFileSync(repoPath(file), "utf8");
        const r = await roundTrip(file, text, workDir);
        generated.push(...r.generated);
        if (complete) assert.deepEqual(r.diagnostics, [], "a golden imports completely");
        const expected = expectedDiagnostics(text);
        if (!complete) assert.deepEqual(sortByLine(r.diagnostics.map((d) => d.replace(/^[^:]*:/, ""))), expected, "the diagnostics the fixture expects");
        // a partial import still loads and compiles; only a complete one must round-trip
        if (expected.length) assert.deepEqual(r.problems.filter((p) => / (load|compile): /.test(p)), []);
        else assert.deepEqual(r.problems, []);
      });
    }
  }
});

describe("couler import: generated programs", () => {
  test("every generated file type-checks against the package's types", () => {
    assert.ok(generated.length > 40, `${generated.length} files`);
    const problems = typecheck(generated).map(({ d }) => `${d.loc?.file}:${d.loc?.line}:${d.loc?.col}: ${d.message}`);
    assert.deepEqual(problems, []);
  });
});

/** `# expect: LINE:COL: warning: text` comments at the top of a fixture. */
function expectedDiagnostics(text: string): string[] {
  return [...text.matchAll(/^# expect: (.*)$/gm)].map((m) => m[1]!);
}

function sortByLine(list: string[]): string[] {
  const key = (d: string) => d.split(":").slice(0, 2).map(Number);
  return [...list].sort((a, b) => key(a)[0]! - key(b)[0]! || key(a)[1]! - key(b)[1]! || (a < b ? -1 : a > b ? 1 : 0));
}
