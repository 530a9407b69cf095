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

describe("couler import: command line", () => {
  test("-o writes one program per workflow, exit 0 when complete; --check compares", async () => {
    const dir = tmp();
    const r = await cli(["import", "test/import-fixtures/scheduled.yaml", "-o", dir]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(readdirSync(dir).sort(), ["nightly-backup.ts", "shared-steps.ts"]);
    assert.match(readFileSync(join(dir, "nightly-backup.ts"), "utf8"), /cronConfig: \{\n\s*schedule: "0 3 \* \* \*",/);
    assert.equal((await cli(["import", "test/import-fixtures/scheduled.yaml", "-o", dir, "--check"])).code, 0);
    writeFileSync(join(dir, "shared-steps.ts"), "stale\n");
    const c = await cli(["import", "test/import-fixtures/scheduled.yaml", "-o", dir, "--check"]);
    assert.equal(c.code, 1);
    assert.match(c.stderr, /stale: .*shared-steps\.ts/);
    assert.equal(readFileSync(join(dir, "shared-steps.ts"), "utf8"), "stale\n", "--check writes nothing");
  });

  test("without -o the program goes to stdout", async () => {
    const r = await cli(["import", "golden/argo/hello/hello.yaml"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^\/\/ Imported from Argo Workflow "hello"/);
    assert.match(r.stdout, /import \{ runContainer, workflow \} from "couler";/);
  });

  test("what is left out is a located warning, a comment in the file, and exit 1", async () => {
    const dir = tmp();
    const r = await cli(["import", "test/import-fixtures/partial.yaml", "-o", dir]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^test\/import-fixtures\/partial\.yaml:20:13: warning: step "first": continueOn: /m);
    assert.match(r.stderr, /import incomplete/);
    const text = readFileSync(join(dir, "partial.ts"), "utf8");
    assert.match(text, /\/\/ couler import: step "first": continueOn: the DSL has no such option\n\s*\/\/ {3}continueOn:\n\s*\/\/ {5}failed: true\n/);
    assert.match(text, /\/\/ couler import: template "echo": podSpecPatch: /);
  });

  test("invalid YAML or a document that is not an Argo workflow: located errors, nothing written", async () => {
    const dir = tmp();
    writeFileSync(join(dir, "keep.ts"), "mine\n");
    const bad = join(dir, "bad.yaml");
    writeFileSync(bad, "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nspec: [unclosed\n");
    const notArgo = join(dir, "cm.yaml");
    writeFileSync(notArgo, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n");
    const r = await cli(["import", "golden/argo/hello/hello.yaml", bad, notArgo, "-o", dir]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /bad\.yaml:4:1: error: invalid YAML: /);
    assert.match(r.stderr, /cm\.yaml:1:1: error: not an Argo workflow: apiVersion "v1"/);
    assert.deepEqual(readdirSync(dir).sort(), ["bad.yaml", "cm.yaml", "keep.ts"]);
    assert.equal(readFileSync(join(dir, "keep.ts"), "utf8"), "mine\n");
  });

  test("other commands never load TypeScript or ts-morph: the importer is imported on demand", () => {
    const seen = new Set<string>();
    const bare = new Set<string>();
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      const text = readFileSync(file, "utf8");
      for (const m of text.matchAll(/^(?:import|export)\s[^;]*?from\s+"([^"]+)"/gm)) {
        const spec = m[1]!;
        if (spec.startsWith(".")) visit(join(file, "..", spec));
        else bare.add(spec);
      }
    };
    visit(repoPath("dist/src/cli/main.js"));
    assert.ok(seen.size > 10);
    assert.ok(!bare.has("ts-morph") && !bare.has("typescript"), [...bare].join(", "));
    assert.ok(![...seen].some((f) => f.includes("/import/")), "src/import/ is not loaded statically");
  });
});
