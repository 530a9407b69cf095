/**
 * The `couler` command line. `runCli` takes the arguments and an output sink and returns
 * the exit code (0 ok, 1 diagnostics, 2 usage), so tests run it in-process.
 */
import { Command, CommanderError, Option } from "commander";
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import type { Backend, OutputFile } from "../../backends/backend.js";
import { BACKENDS, findBackend, targetNames } from "../../backends/registry.js";
import { compileWorkflow } from "../compile.js";
import { error, formatDiagnostic, sortDiagnostics, suggest, type Diagnostic } from "../diagnostics.js";
import { loadWorkflowFile, type LoadResult } from "../loader/load.js";
import { registerRunCommands } from "./run-command.js";
import { registerImportCommand } from "./import-command.js";
import { featureTable } from "../feature-table.js";

export interface CliIO {
  stdout(text: string): void;
  stderr(text: string): void;
  /** Folder that relative paths and displayed locations are relative to. */
  cwd: string;
}

export const processIO: CliIO = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  cwd: process.cwd(),
};

class UsageError extends Error {}

interface Located {
  d: Diagnostic;
  baseDir: string;
}

function printDiagnostics(io: CliIO, list: readonly Located[]): void {
  // Sort on what the user sees: the displayed path, then line and column.
  const shown = list.map(({ d, baseDir }) => {
    const file = d.loc ? displayPath(io, baseDir, d.loc.file) : "";
    return d.loc ? { ...d, loc: { ...d.loc, file } } : d;
  });
  for (const d of sortDiagnostics(shown)) io.stderr(`${formatDiagnostic(d)}\n`);
}

function displayPath(io: CliIO, baseDir: string, file: string): string {
  const abs = resolve(baseDir, file);
  const rel = relative(io.cwd, abs);
  return (rel.startsWith("..") && rel.split(sep).filter((p) => p === "..").length > 2 ? abs : rel).split(sep).join("/");
}

function parseOptions(backend: Backend, raw: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, o] of Object.entries(backend.options)) if (o.default !== undefined) out[k] = o.default;
  for (const item of raw) {
    const eq = item.indexOf("=");
    if (eq <= 0) throw new UsageError(`--option expects key=value, got "${item}"`);
    const key = item.slice(0, eq);
    const value = item.slice(eq + 1);
    const spec = backend.options[key];
    if (!spec) {
      const known = Object.keys(backend.options);
      throw new UsageError(
        `target ${backend.name} has no option "${key}"${suggest(key, known)}${known.length ? `; options: ${known.join(", ")}` : ""}`,
      );
    }
    if (spec.values && !spec.values.includes(value)) {
      throw new UsageError(`option ${key} of target ${backend.name} must be one of ${spec.values.join(", ")}, got "${value}"`);
    }
    out[key] = value;
  }
  return out;
}

function resolveTarget(name: string): Backend {
  const b = findBackend(name);
  if (!b) throw new UsageError(`unknown target "${name}"${suggest(name, targetNames())}; targets: ${targetNames().join(", ")}`);
  return b;
}

interface CompileRun {
  files: { file: OutputFile; from: string }[];
  diagnostics: Located[];
  failed: boolean;
}

async function compileFiles(
  io: CliIO,
  inputs: readonly string[],
  backend: Backend,
  options: Record<string, string>,
  only: string | undefined,
): Promise<CompileRun> {
  const run: CompileRun = { files: [], diagnostics: [], failed: false };
  const loaded: LoadResult[] = [];
  for (const input of inputs) loaded.push(await loadWorkflowFile(resolve(io.cwd, input), input));
  let matched = only === undefined;
  const available: string[] = [];
  for (const l of loaded) {
    for (const d of l.diagnostics) run.diagnostics.push({ d, baseDir: l.baseDir });
    for (const { workflow } of l.workflows) {
      available.push(workflow.name);
      if (only !== undefined && workflow.name !== only) continue;
      matched = true;
      const out = compileWorkflow(workflow, backend, options);
      for (const d of out.diagnostics) run.diagnostics.push({ d, baseDir: workflow.baseDir });
      for (const f of out.files) run.files.push({ file: f, from: l.file });
    }
  }
  if (!matched && loaded.every((l) => l.diagnostics.length === 0)) {
    run.diagnostics.push({
      d: error("unknown-workflow", `no workflow named "${only}"${suggest(only!, available)}; found: ${available.join(", ")}`),
      baseDir: io.cwd,
    });
  }
  const seen = new Map<string, string>();
  for (const { file, from } of run.files) {
    const other = seen.get(file.path);
    if (other !== undefined) {
      run.diagnostics.push({
        d: error("output-collision", `two workflows compile to the same output file ${file.path} (from ${other} and ${from}); rename one`),
        baseDir: io.cwd,
      });
    }
    seen.set(file.path, from);
  }
  run.failed = run.diagnostics.some((x) => x.d.severity === "error");
  return run;
}

/** Write every file or none: all go to temporary names first, then are renamed into place. */
export function writeAtomically(dir: string, files: readonly OutputFile[]): void {
  const staged: { tmp: string; final: string }[] = [];
  try {
    for (const f of files) {
      const final = join(dir, ...f.path.split("/"));
      mkdirSync(dirname(final), { recursive: true });
      const tmp = `${final}.couler-tmp-${process.pid}`;
      writeFileSync(tmp, f.content);
      staged.push({ tmp, final });
    }
  } catch (e) {
    for (const s of staged) rmSync(s.tmp, { force: true });
    throw e;
  }
  for (const s of staged) renameSync(s.tmp, s.final);
}

function readOr(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

export async function runCli(argv: readonly string[], io: CliIO = processIO): Promise<number> {
  let code = 0;
  const program = new Command("couler")
    .description("Write a workflow once in TypeScript; compile it to Argo Workflows and more.")
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout(s), writeErr: (s) => io.stderr(s) })
    .showSuggestionAfterError(true);

  const compile = program
    .command("compile")
    .description("compile workflow files to a target's manifests")
    .argument("<files...>", "workflow files (.ts)")
    .addOption(new Option("-t, --target <target>", `target: ${targetNames().join(", ")}`).makeOptionMandatory())
    .option("-o, --out <dir>", "write files into this folder instead of printing them")
    .option("-w, --workflow <name>", "compile only the workflow with this name")
    .option("--check", "with -o: compare with the folder and fail listing stale files, writing nothing")
    .option("--option <key=value>", "a target option (repeatable)", (v: string, acc: string[]) => [...acc, v], [] as string[]);
  // Every backend option is also a flag of its own: --<target>-<option> <value>.
  const flagOptions: { flag: string; attr: string; backend: string; key: string }[] = [];
  for (const b of BACKENDS) {
    for (const [key, o] of Object.entries(b.options)) {
      const flag = `--${b.name}-${key}`;
      const attr = `${b.name}-${key}`.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
      const values = o.values ? ` (${o.values.join(", ")})` : "";
      const def = o.default !== undefined ? `; default ${o.default}` : "";
      compile.option(`${flag} <value>`, `${o.description}${values}${def}; target ${b.name} only`);
      flagOptions.push({ flag, attr, backend: b.name, key });
    }
  }
  compile.action(
    async (files: string[], opts: { target: string; out?: string; workflow?: string; check?: boolean; option: string[] } & Record<string, unknown>) => {
      const backend = resolveTarget(opts.target);
      const raw = [...opts.option];
      for (const f of flagOptions) {
        const v = opts[f.attr];
        if (v === undefined) continue;
        if (f.backend !== backend.name) throw new UsageError(`${f.flag} applies to target ${f.backend}, not ${backend.name}`);
        raw.push(`${f.key}=${String(v)}`);
      }
      const options = parseOptions(backend, raw);
      if (opts.check && !opts.out) throw new UsageError("--check needs -o <dir> to compare with");
      const run = await compileFiles(io, files, backend, options, opts.workflow);
      printDiagnostics(io, run.diagnostics);
      if (run.failed) {
        code = 1;
        return;
      }
      const outFiles = run.files.map((f) => f.file);
      if (opts.out === undefined) {
        io.stdout(backend.joinForStdout(outFiles));
        return;
      }
      const dir = resolve(io.cwd, opts.out);
      if (opts.check) {
        const stale = outFiles.filter((f) => readOr(join(dir, ...f.path.split("/"))) !== f.content);
        for (const f of stale) io.stderr(`stale: ${displayPath(io, dir, f.path)}\n`);
        if (stale.length) {
          io.stderr(`couler: ${stale.length} generated file(s) out of date; run without --check to update\n`);
          code = 1;
        }
        return;
      }
      writeAtomically(dir, outFiles);
      for (const f of outFiles) io.stderr(`wrote ${displayPath(io, dir, f.path)}\n`);
    },
  );

  program
    .command("validate")
    .description("check workflow files without compiling them for a target")
    .argument("<files...>", "workflow files (.ts)")
    .option("--typecheck", "also type-check the files with TypeScript")
    .option("-t, --target <target>", "also check what this target can express")
    .action(async (files: string[], opts: { typecheck?: boolean; target?: string }) => {
      const backend = opts.target !== undefined ? resolveTarget(opts.target) : findBackend("ir")!;
      const diags: Located[] = [];
      if (opts.typecheck) {
        const { typecheck } = await import("./typecheck.js");
        for (const d of typecheck(files.map((f) => resolve(io.cwd, f)))) diags.push(d);
      }
      if (!diags.some((x) => x.d.severity === "error")) {
        const run = await compileFiles(io, files, backend, parseOptions(backend, []), undefined);
        diags.push(...run.diagnostics);
      }
      printDiagnostics(io, diags);
      if (diags.some((x) => x.d.severity === "error")) code = 1;
      else io.stderr(`ok: ${files.join(", ")}\n`);
    });

  registerRunCommands(program, io, (c) => {
    code = c;
  });

  registerImportCommand(program, io, (c) => {
    code = c;
  }, { printDiagnostics, writeAtomically });

  program
    .command("targets")
    .description("list the compile targets")
    .option("--features", "print what each target does with each IR feature (markdown)")
    .action((opts: { features?: boolean }) => {
      if (opts.features) {
        io.stdout(featureTable(BACKENDS));
        return;
      }
      for (const b of BACKENDS) io.stdout(`${b.name.padEnd(10)} ${b.description}\n`);
    });

  try {
    await program.parseAsync([...argv], { from: "user" });
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === "commander.helpDisplayed" || e.code === "commander.version" || e.code === "commander.help") return 0;
      return 2;
    }
    if (e instanceof UsageError) {
      io.stderr(`couler: error: ${e.message}\n`);
      return 2;
    }
    io.stderr(`couler: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    return 70;
  }
  return code;
}
