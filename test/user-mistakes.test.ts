/**
 * A newcomer's mistakes (issue 13), written in a user project whose steps come from a
 * helper in another file: each is a located diagnostic at the user's own line, exit 1,
 * and no files written.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
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

describe("mistakes caught at compile time, at the user's line", () => {
  const flow = (body: string) => `import { workflow, runContainer, setDependencies, when, equal } from "couler";
import { job } from "../lib/steps.js";
export default workflow("m", () => {
${body}
});
`;
  const check = (body: string, target = "argo") => {
    const dir = project({ "flows/m.ts": flow(body), "lib/steps.ts": HELPER });
    const r = couler(["compile", "flows/m.ts", "--target", target, "-o", "out"], dir, { COULER_CACHE_DIR: "" });
    return { ...r, wrote: existsSync(join(dir, "out")) };
  };

  test("a step handle used as text (a template string, an image) instead of the word", () => {
    const r = check(`  const build = job("build");
  runContainer({ image: "alpine", command: ["echo", \`built \${build}\`] });
  runContainer({ image: \`registry/\${build}:1\`, command: ["true"] });
  setDependencies(() => job("notify"), [\`\${build}.Failed\`]);`);
    assert.equal(r.code, 1);
    assert.ok(!r.wrote, "no files written");
    assert.equal(
      r.stderr,
      [
        `flows/m.ts:5:3: error: runContainer(): command[1]: step handle "build" used as text would become the word "build": use the handle's .result (or .output("name")) for a value, or the string "build" for its name`,
        `flows/m.ts:6:3: error: step "build-2": image: step handle "build" used as text would become the word "build": use the handle's .result (or .output("name")) for a value, or the string "build" for its name`,
        "",
      ].join("\n"),
      "a handle in dependency text still names the step",
    );
  });

  test("reading a daemon's result", () => {
    const r = check(`  const db = job("db", { daemon: true });
  runContainer({ stepName: "use", image: "alpine", command: ["echo", db.result] });`);
    assert.equal(r.code, 1);
    assert.ok(!r.wrote);
    assert.match(r.stderr, /^flows\/m\.ts:5:3: error: step "use" reads the result of daemon step "db": a daemon keeps running/);
  });

  test("a misspelt option: plurals and near words get a suggestion", () => {
    const r = check(`  runContainer({ image: "alpine", command: ["true"], retries: 3, commands: ["x"], envs: {} } as never);`);
    assert.equal(r.code, 1);
    assert.ok(!r.wrote);
    for (const [bad, good] of [["retries", "retry"], ["commands", "command"], ["envs", "env"]]) {
      assert.match(r.stderr, new RegExp(`^flows/m\\.ts:4:3: error: runContainer\\(\\): unknown option "${bad}" \\(did you mean "${good}"\\?\\)$`, "m"));
    }
  });

  test("reading an output of a step that may have failed, from a step that runs whatever happens", () => {
    const r = check(`  const download = job("download");
  setDependencies(() => job("cleanup"), ["download.Succeeded || download.Failed"]);
  setDependencies(() => runContainer({ stepName: "unpack", image: "alpine", command: ["echo", download.result] }), ["cleanup"]);`);
    assert.equal(r.code, 1);
    assert.ok(!r.wrote);
    assert.equal(
      r.stderr,
      `flows/m.ts:6:25: error: step "unpack" uses the result of "download" but may run after "download" failed (a step it waits for runs whatever happens), when that value does not exist; make it also wait for "download" to succeed (after: ["download"])\n`,
    );
  });

  test("reading an output of a step inside when() from a step after the block is a warning; under the same when() it is fine", () => {
    const warn = check(`  const flip = job("flip");
  let heads: ReturnType<typeof job> | undefined;
  when(equal(flip.result, "heads"), () => { heads = job("heads"); runContainer({ stepName: "inside", image: "alpine", command: ["echo", heads.result] }); });
  runContainer({ stepName: "report", image: "alpine", command: ["echo", heads!.result] });`);
    assert.equal(warn.code, 0, warn.stderr);
    assert.equal(
      // (the target's own warnings about how it ends such a run are tested with the backend)
      warn.stderr.split("\n").filter((l) => !l.startsWith("wrote ") && !l.includes("(target ")).join("\n"),
      `flows/m.ts:7:3: warning: step "report" uses the result of "heads", which is skipped when its condition is false, and then has none; put "report" under the same when(), or read the value only in the branch that produced it\n`,
    );
  });
});

describe("validate --typecheck uses the user's tsconfig.json", () => {
  /** The README's process.env example, as written there. */
  const readmeExample = (): string => {
    const text = readFileSync(repoPath("README.md"), "utf8");
    const m = /```ts\n(\/\/ flows\/nightly\.ts\n[\s\S]*?)```/.exec(text);
    assert.ok(m, "the README has the flows/nightly.ts example");
    return m[1]!;
  };
  /** A project where `couler` and `@types/node` are installed (linked), as after `npm install`. */
  const installed = (files: Record<string, string>): string => {
    const dir = project(files);
    mkdirSync(join(dir, "node_modules", "@types"), { recursive: true });
    symlinkSync(repoPath(), join(dir, "node_modules", "couler"), "dir");
    symlinkSync(repoPath("node_modules", "@types", "node"), join(dir, "node_modules", "@types", "node"), "dir");
    return dir;
  };
  const tsc = (config: string): string[] => {
    const parsed = ts.getParsedCommandLineOfConfigFile(config, {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} })!;
    const program = ts.createProgram(parsed.fileNames, parsed.options);
    return ts.getPreEmitDiagnostics(program).map((d) => `TS${d.code}`);
  };
  const tsconfig = (types: string[]) =>
    JSON.stringify({ compilerOptions: { strict: true, module: "nodenext", target: "es2022", types, noEmit: true, skipLibCheck: true }, include: ["flows"] });

  test("the README's process.env example typechecks where plain tsc accepts it", () => {
    const dir = installed({ "flows/nightly.ts": readmeExample(), "tsconfig.json": tsconfig(["node"]), "package.json": '{ "type": "module" }' });
    assert.deepEqual(tsc(join(dir, "tsconfig.json")), [], "plain tsc accepts it");
    const r = couler(["validate", "--typecheck", "flows/nightly.ts"], dir, { COULER_CACHE_DIR: "" });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, "ok: flows/nightly.ts\n");
  });

  test("the tsconfig's types decide, as for tsc: without node types, process is unknown to both", () => {
    const dir = installed({ "flows/nightly.ts": readmeExample(), "tsconfig.json": tsconfig([]), "package.json": '{ "type": "module" }' });
    assert.ok(tsc(join(dir, "tsconfig.json")).includes("TS2591"));
    const r = couler(["validate", "--typecheck", "flows/nightly.ts"], dir, { COULER_CACHE_DIR: "" });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^flows\/nightly\.ts:4:16: error: TS2591: Cannot find name 'process'/m);
  });

  test("without a tsconfig, @types/node of the project is used", () => {
    const dir = installed({ "flows/nightly.ts": readmeExample() });
    const r = couler(["validate", "--typecheck", "flows/nightly.ts"], dir, { COULER_CACHE_DIR: "" });
    assert.equal(r.code, 0, r.stderr);
  });
});
