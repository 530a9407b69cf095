/**
 * `couler validate --typecheck`: type errors in workflow files at their `file:line:col`.
 * Uses ts-morph over a program whose `"couler"` import resolves to this package's types.
 * Loaded only for this command: TypeScript is never on the compile path.
 */
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { Project, ts } from "ts-morph";
import { error, warning, type Diagnostic } from "../diagnostics.js";

export function typecheck(files: readonly string[]): { d: Diagnostic; baseDir: string }[] {
  const typesEntry = fileURLToPath(new URL("../index.d.ts", import.meta.url));
  const project = new Project({
    compilerOptions: {
      strict: true,
      noEmit: true,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.ESNext,
      moduleResolution: ts.ModuleResolutionKind.Bundler,
      allowImportingTsExtensions: true,
      skipLibCheck: true,
      types: [],
      paths: { couler: [typesEntry] },
    },
  });
  for (const f of files) project.addSourceFileAtPath(f);
  project.resolveSourceFileDependencies();
  const out: { d: Diagnostic; baseDir: string }[] = [];
  for (const diag of project.getPreEmitDiagnostics()) {
    const sf = diag.getSourceFile();
    const msg = ts.flattenDiagnosticMessageText(diag.compilerObject.messageText, "\n");
    const text = `TS${diag.getCode()}: ${msg}`;
    const make = diag.getCategory() === ts.DiagnosticCategory.Error ? error : warning;
    if (!sf) {
      out.push({ d: make("typecheck", text), baseDir: process.cwd() });
      continue;
    }
    const path = sf.getFilePath();
    const pos = sf.getLineAndColumnAtPos(diag.getStart() ?? 0);
    const baseDir = dirname(path);
    out.push({ d: make("typecheck", text, { file: path.slice(baseDir.length + 1), line: pos.line, col: pos.column }), baseDir });
  }
  return out;
}
