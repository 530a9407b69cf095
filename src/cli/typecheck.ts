/**
 * `couler validate --typecheck`: type errors in workflow files at their `file:line:col`.
 * Each file is checked with the nearest `tsconfig.json` above it, as plain `tsc` would (its
 * `types`, so `process.env` works with `@types/node`), except that `"couler"` resolves to
 * this package's own types and `.ts` import suffixes are allowed (the loader accepts them).
 * Without a tsconfig: strict, ES2022, bundler resolution, and `@types/node` when the project
 * has it. Loaded only for this command: ts-morph is never on the compile path.
 */
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Project, ts } from "ts-morph";
import { error, warning, type Diagnostic } from "../diagnostics.js";

/** The nearest `tsconfig.json` in the file's folder or above it. */
export function nearestTsconfig(file: string): string | undefined {
  return ts.findConfigFile(dirname(file), ts.sys.fileExists, "tsconfig.json");
}

function hasNodeTypes(dir: string): boolean {
  try {
    createRequire(join(dir, "noop.js")).resolve("@types/node/package.json");
    return true;
  } catch {
    return false;
  }
}

function projectFor(config: string | undefined, firstFile: string): Project {
  const typesEntry = fileURLToPath(new URL("../index.d.ts", import.meta.url));
  if (config !== undefined) {
    const parsed = ts.getParsedCommandLineOfConfigFile(config, {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} });
    const paths = { ...(parsed?.options.paths ?? {}), couler: [typesEntry] };
    return new Project({
      tsConfigFilePath: config,
      skipAddingFilesFromTsConfig: true,
      compilerOptions: { noEmit: true, allowImportingTsExtensions: true, paths },
    });
  }
  return new Project({
    compilerOptions: {
      strict: true,
      noEmit: true,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.ESNext,
      moduleResolution: ts.ModuleResolutionKind.Bundler,
      allowImportingTsExtensions: true,
      skipLibCheck: true,
      types: hasNodeTypes(dirname(firstFile)) ? ["node"] : [],
      paths: { couler: [typesEntry] },
    },
  });
}

export function typecheck(files: readonly string[]): { d: Diagnostic; baseDir: string }[] {
  // One program per tsconfig: files of different projects keep their own settings.
  const groups = new Map<string, string[]>();
  for (const f of files) {
    const key = nearestTsconfig(f) ?? "";
    groups.set(key, [...(groups.get(key) ?? []), f]);
  }
  const out: { d: Diagnostic; baseDir: string }[] = [];
  for (const [config, group] of groups) {
    const project = projectFor(config || undefined, group[0]!);
    for (const f of group) project.addSourceFileAtPath(f);
    project.resolveSourceFileDependencies();
    for (const diag of project.getPreEmitDiagnostics()) {
      const sf = diag.getSourceFile();
      const msg = ts.flattenDiagnosticMessageText(diag.compilerObject.messageText, "\n");
      const text = `TS${diag.getCode()}: ${msg}`;
      const make = diag.getCategory() === ts.DiagnosticCategory.Error ? error : warning;
      if (!sf) {
        out.push({ d: make("typecheck", config ? `${text} (${config})` : text), baseDir: process.cwd() });
        continue;
      }
      const path = sf.getFilePath();
      const pos = sf.getLineAndColumnAtPos(diag.getStart() ?? 0);
      const baseDir = dirname(path);
      out.push({ d: make("typecheck", text, { file: path.slice(baseDir.length + 1), line: pos.line, col: pos.column }), baseDir });
    }
  }
  return out;
}
