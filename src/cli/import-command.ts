/**
 * `couler import <file.yaml…> [-o dir] [--check]`: Argo Workflows YAML → couler programs.
 * The importer (and with it ts-morph and TypeScript) is loaded only when this command runs.
 */
import type { Command } from "commander";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { OutputFile } from "../../backends/backend.js";
import { error, type Diagnostic } from "../diagnostics.js";

interface IO {
  stdout(text: string): void;
  stderr(text: string): void;
  cwd: string;
}

interface Helpers {
  printDiagnostics(io: IO, list: readonly { d: Diagnostic; baseDir: string }[]): void;
  writeAtomically(dir: string, files: readonly OutputFile[]): void;
}

export function registerImportCommand(program: Command, io: IO, setCode: (code: number) => void, helpers: Helpers): void {
  program
    .command("import")
    .description("turn Argo Workflow, WorkflowTemplate and CronWorkflow YAML into couler programs")
    .argument("<files...>", "Argo YAML files")
    .option("-o, --out <dir>", "write one .ts file per workflow into this folder instead of printing them")
    .option("--check", "with -o: compare with the folder and fail listing stale files, writing nothing")
    .action(async (files: string[], opts: { out?: string; check?: boolean }) => {
      if (opts.check && !opts.out) {
        io.stderr("couler: error: --check needs -o <dir> to compare with\n");
        setCode(2);
        return;
      }
      const inputs: { file: string; text: string }[] = [];
      const unreadable: Diagnostic[] = [];
      for (const f of files) {
        try {
          inputs.push({ file: f, text: readFileSync(resolve(io.cwd, f), "utf8") });
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code;
          unreadable.push(error("unreadable-file", `cannot read ${f}: ${code === "ENOENT" ? "no such file" : (e as Error).message}`));
        }
      }
      const { importArgo } = await import("../import/import-argo.js");
      const r = importArgo(inputs);
      const diags = [...unreadable, ...r.diagnostics];
      helpers.printDiagnostics(io, diags.map((d) => ({ d, baseDir: io.cwd })));
      if (unreadable.length || r.failed) {
        setCode(1);
        return;
      }
      const incomplete = r.incomplete;
      if (opts.out === undefined) {
        io.stdout(r.files.map((f) => (r.files.length > 1 ? `// ---- ${f.path}\n${f.content}` : f.content)).join("\n"));
      } else {
        const dir = resolve(io.cwd, opts.out);
        if (opts.check) {
          const stale = r.files.filter((f) => readOr(join(dir, f.path)) !== f.content);
          for (const f of stale) io.stderr(`stale: ${join(opts.out, f.path)}\n`);
          if (stale.length) {
            io.stderr(`couler: ${stale.length} imported file(s) out of date; run without --check to update\n`);
            setCode(1);
            return;
          }
        } else {
          helpers.writeAtomically(dir, r.files);
          for (const f of r.files) io.stderr(`wrote ${join(opts.out, f.path)}\n`);
        }
      }
      if (incomplete) {
        const n = r.diagnostics.length;
        io.stderr(`couler: import incomplete: ${n} thing(s) have no DSL form and were kept as "// couler import:" comments\n`);
        setCode(1);
      }
    });
}

function readOr(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}
