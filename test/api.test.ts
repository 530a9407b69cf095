/**
 * The package documents itself (issue 13): `compile` and `run` from code, loaded lazily;
 * everything the README links is in the packed package; heavy dependencies load only when
 * a command needs them.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, normalize } from "node:path";
import { describe, test } from "node:test";
import { compile, CoulerDiagnosticsError, CoulerUsageError, run, runContainer, workflow } from "../src/index.js";
import { REPO, repoPath } from "./helpers/paths.js";

describe("programmatic API", () => {
  test("compile(file) returns what `couler compile -o` writes, and writes nothing", async () => {
    const before = readdirSync(repoPath("fixtures")).join();
    const r = await compile(repoPath("fixtures", "hello.ts"), { target: "argo" });
    assert.deepEqual(r.diagnostics, []);
    assert.deepEqual(r.files.map((f) => f.path), ["hello.yaml"]);
    assert.equal(r.files[0]!.content, readFileSync(repoPath("golden", "argo", "hello", "hello.yaml"), "utf8"));
    assert.equal(readdirSync(repoPath("fixtures")).join(), before);
  });

  test("compile(workflow) takes a built workflow; errors are located diagnostics (absolute paths) and no files", async () => {
    const ok = workflow("api", () => {
      runContainer({ image: "alpine:3.20", command: ["echo", "hi"] });
    });
    const r = await compile(ok, { target: "ir" });
    assert.equal(r.files.length, 1);
    assert.match(r.files[0]!.content, /"name": "api"/);
    const bad = await compile(repoPath("fixtures", "invalid", "cycle.ts"), { target: "argo" });
    assert.deepEqual(bad.files, []);
    assert.equal(bad.diagnostics[0]!.severity, "error");
    assert.equal(bad.diagnostics[0]!.loc!.file, repoPath("fixtures", "invalid", "cycle.ts"));
  });

  test("usage mistakes throw CoulerUsageError with a suggestion", async () => {
    await assert.rejects(compile(repoPath("fixtures", "hello.ts"), { target: "argoo" }), (e: Error) => e instanceof CoulerUsageError && /did you mean "argo"/.test(e.message));
    await assert.rejects(compile(repoPath("fixtures", "hello.ts"), { target: "tekton", options: { taks: "x" } }), CoulerUsageError);
  });

  test("run(file) returns the run record; a workflow with errors throws its diagnostics", async () => {
    const dir = mkdtempSync(join(tmpdir(), "couler-api-"));
    const file = join(dir, "flow.ts");
    writeFileSync(file, `import { workflow, runContainer } from "couler";\nexport default workflow("api-run", () => { runContainer({ stepName: "say", image: "alpine", command: ["echo", "hi"] }); });\n`);
    const lines: string[] = [];
    const rec = await run(file, { container: "none", onEvent: (e) => e.type === "output" && lines.push(e.line) });
    assert.equal(rec.status, "Succeeded");
    assert.equal(rec.steps[0]!.outputs!.result, "hi");
    assert.deepEqual(lines, ["hi"]);
    await assert.rejects(run(repoPath("fixtures", "invalid", "cycle.ts"), { container: "none" }), (e: Error) => e instanceof CoulerDiagnosticsError && /cycle/.test(e.message));
  });
});

/** The modules a node process loads (on its main thread), through a tracing hook. */
function loadedModules(args: string[], cwd: string = REPO, env: Record<string, string> = {}): { urls: string[]; code: number | null; stderr: string } {
  const dir = mkdtempSync(join(tmpdir(), "couler-trace-"));
  const log = join(dir, "loaded.txt");
  writeFileSync(log, "");
  writeFileSync(
    join(dir, "trace-hooks.mjs"),
    `import { appendFileSync } from "node:fs";\nexport async function load(url, context, next) { appendFileSync(${JSON.stringify(log)}, url + "\\n"); return next(url, context); }\n`,
  );
  writeFileSync(join(dir, "register.mjs"), `import { register } from "node:module";\nregister(new URL("./trace-hooks.mjs", import.meta.url));\n`);
  const r = spawnSync(process.execPath, ["--import", join(dir, "register.mjs"), ...args], { cwd, encoding: "utf8", env: { ...process.env, ...env } });
  return { urls: readFileSync(log, "utf8").split("\n").filter(Boolean), code: r.status, stderr: r.stderr };
}

describe("what loads when", () => {
  const heavy = (u: string) => /\/node_modules\/(typescript|ts-morph|@ts-morph)\//.test(u);

  test('import "couler" for the DSL loads no backend, runner, loader, TypeScript or ts-morph', () => {
    const r = loadedModules(["--input-type=module", "-e", `await import(${JSON.stringify(repoPath("dist", "src", "index.js"))});`]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.urls.some((u) => u.endsWith("/dist/src/dsl/workflow.js")), "the trace sees our modules");
    const bad = r.urls.filter((u) => /\/dist\/(backends|src\/run|src\/loader|src\/cli)\//.test(u) || heavy(u));
    assert.deepEqual(bad, []);
  });

  test("couler compile with a warm cache loads neither TypeScript nor ts-morph; validate --typecheck loads ts-morph", () => {
    const cache = mkdtempSync(join(tmpdir(), "couler-trace-cache-"));
    const bin = repoPath("dist", "src", "cli", "main.js");
    const args = [bin, "compile", "fixtures/hello.ts", "--target", "argo"];
    assert.equal(loadedModules(args, REPO, { COULER_CACHE_DIR: cache }).code, 0);
    const warm = loadedModules(args, REPO, { COULER_CACHE_DIR: cache });
    assert.equal(warm.code, 0, warm.stderr);
    assert.deepEqual(warm.urls.filter(heavy), []);
    const tc = loadedModules([bin, "validate", "--typecheck", "fixtures/hello.ts"], REPO, { COULER_CACHE_DIR: cache });
    assert.equal(tc.code, 0, tc.stderr);
    assert.ok(tc.urls.some((u) => u.includes("/node_modules/ts-morph/")), "the trace sees ts-morph when it is needed");
  });
});

describe("the packed package", () => {
  test("holds every file the README (and the docs it links) link to", () => {
    const out = execFileSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], { cwd: REPO, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
    const files = new Set((JSON.parse(out) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path));
    const docs = [...files].filter((f) => f.endsWith(".md"));
    assert.ok(docs.includes("README.md") && docs.includes("src/run/README.md") && docs.includes("docs/features.md"));
    const missing: string[] = [];
    for (const doc of docs) {
      const text = readFileSync(repoPath(doc), "utf8");
      for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        const target = m[1]!.split("#")[0]!;
        if (!target || /^[a-z]+:/.test(target)) continue;
        const path = normalize(join(dirname(doc), target)).split("\\").join("/");
        if (!files.has(path)) missing.push(`${doc} -> ${target}`);
      }
    }
    assert.deepEqual(missing, []);
  });
});

describe("the packed tarball, installed in a fresh project", () => {
  test("reports a misspelt import, a handle used as text and a misspelt option at the user's lines; compile() works", () => {
    const dir = mkdtempSync(join(tmpdir(), "couler-packed-"));
    const out = execFileSync("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", dir], { cwd: REPO, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
    const tgz = join(dir, (JSON.parse(out) as { filename: string }[])[0]!.filename);
    const pkg = join(dir, "proj", "node_modules", "couler");
    mkdirSync(pkg, { recursive: true });
    execFileSync("tar", ["xzf", tgz, "-C", pkg, "--strip-components=1"]);
    // Its dependencies, as npm would install them (no network in the test).
    symlinkSync(repoPath("node_modules"), join(pkg, "node_modules"), "dir");
    const proj = join(dir, "proj");
    mkdirSync(join(proj, "flows"));
    writeFileSync(
      join(proj, "flows", "x.ts"),
      `// flows/x.ts\nimport { workflow, runContainer } from "couler";\nimport { runStep } from "couler";\nexport default workflow("x", () => {\n  const b = runContainer({ stepName: "b", image: "alpine", command: ["echo", "hi"] });\n  runContainer({ image: "alpine", command: ["echo", \`\${b}\`], retries: 2 } as never);\n});\n`,
    );
    const bin = join(pkg, "dist", "src", "cli", "main.js");
    const env = { ...process.env, COULER_CACHE_DIR: "" };
    const first = spawnSync(process.execPath, [bin, "validate", "flows/x.ts"], { cwd: proj, encoding: "utf8", env });
    assert.equal(first.status, 1);
    assert.equal(first.stderr, `flows/x.ts:3:10: error: "couler" has no export named "runStep" (did you mean "runScript"?)\n`);
    writeFileSync(join(proj, "flows", "x.ts"), readFileSync(join(proj, "flows", "x.ts"), "utf8").replace(`import { runStep } from "couler";\n`, ""));
    const second = spawnSync(process.execPath, [bin, "compile", "flows/x.ts", "--target", "argo", "-o", "out"], { cwd: proj, encoding: "utf8", env });
    assert.equal(second.status, 1);
    assert.match(second.stderr, /^flows\/x\.ts:5:3: error: runContainer\(\): command\[1\]: step handle "b" used as text/m);
    assert.match(second.stderr, /^flows\/x\.ts:5:3: error: runContainer\(\): unknown option "retries" \(did you mean "retry"\?\)$/m);
    writeFileSync(join(proj, "api.mjs"), `import { compile } from "couler";\nconst r = await compile("flows/x.ts", { target: "argo" });\nconsole.log(JSON.stringify([r.files.length, r.diagnostics.length]));\n`);
    const api = spawnSync(process.execPath, ["api.mjs"], { cwd: proj, encoding: "utf8", env });
    assert.equal(api.stdout.trim(), "[0,2]", api.stderr);
  });
});

describe("the README's first example", () => {
  test("compiles, and no `sh -c` step leaves its script's value in $0", async () => {
    const text = readFileSync(repoPath("README.md"), "utf8");
    const m = /```ts\n(\/\/ flows\/etl\.ts\n[\s\S]*?)```/.exec(text);
    assert.ok(m, "the README starts with flows/etl.ts");
    const dir = mkdtempSync(join(tmpdir(), "couler-readme-"));
    writeFileSync(join(dir, "etl.ts"), m[1]!);
    const r = await compile(join(dir, "etl.ts"), { target: "ir" });
    assert.deepEqual(r.diagnostics, []);
    const ir = JSON.parse(r.files[0]!.content) as { steps: { name: string; command?: unknown[]; args?: unknown[] }[] };
    for (const s of ir.steps) {
      // `sh -c SCRIPT a b` runs SCRIPT with $0=a, $1=b: a script passed in args is never run as written.
      if (s.command?.[0] === "sh" && s.command[1] === "-c") assert.ok(s.command.length >= 3 && !s.args?.length, `step ${s.name}: the script belongs in command, after -c`);
    }
    assert.ok(ir.steps.some((s) => s.name === "load-a"));
  });
});
