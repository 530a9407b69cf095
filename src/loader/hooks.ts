/**
 * Node module hooks (registered with `module.register`) that let the CLI import a user's
 * workflow file written in TypeScript:
 * - `import ... from "couler"` resolves to this very package, so the user's DSL calls and
 *   the CLI share one module instance wherever the file lives on disk;
 * - local `.ts` modules load transpiled, with an inline source map so stack frames and
 *   DSL locations point into the `.ts` source;
 * - transpiled text is cached by content hash, so TypeScript (about 0.25 s to load) is only
 *   loaded when a file changed;
 * - the names a file imports from `"couler"` are recorded when it is transpiled (in the cache
 *   entry) and checked against the package's exports before Node links the module, so a
 *   misspelt name is a located diagnostic with a suggestion, even when the name is unused
 *   (TypeScript erases an unused import, and Node would never notice).
 * These hooks run on Node's loader thread.
 */
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { suggest } from "../diagnostics.js";
import { declaredExports } from "./export-names.js";

export interface HookData {
  /** URL of this package's entry module, what `"couler"` resolves to. */
  coulerUrl: string;
  /** Folder for cached transpiled files; empty to disable the cache. */
  cacheDir: string;
  /** Part of the cache key: changes whenever our loader or TypeScript changes. */
  cacheSalt: string;
  /** The value exports of `"couler"` (what Node can link). */
  coulerExports: readonly string[];
  /** Path of the package's `index.d.ts`: types are importable names too. */
  coulerTypes: string;
}

/** Marks an error thrown for a TypeScript syntax error; its message continues with JSON. */
export const SYNTAX_ERROR_MARK = "COULER_TS_SYNTAX_ERROR\n";

/** A located problem the hooks found, sent to the main thread as JSON after `SYNTAX_ERROR_MARK`. */
export interface HookProblem {
  path: string;
  line: number;
  col: number;
  message: string;
  /** Diagnostic code; `syntax` when absent. */
  code?: string;
}

/** A name a file imports (or re-exports) from `"couler"`; `default` for a default import. */
interface ImportedName {
  name: string;
  line: number;
  col: number;
}

/** What the cache keeps per file: the transpiled text and its imports from `"couler"`. */
interface Transpiled {
  source: string;
  imports: ImportedName[];
}

let data: HookData;

export function initialize(d: HookData): void {
  data = d;
}

type ResolveNext = (specifier: string, context: unknown) => Promise<{ url: string; format?: string }>;
type LoadNext = (url: string, context: unknown) => Promise<{ format: string; source?: string | Uint8Array }>;

const TS_EXT = /\.(?:ts|mts|cts)$/;

export async function resolve(
  specifier: string,
  context: { parentURL?: string },
  next: ResolveNext,
): Promise<{ url: string; format?: string; shortCircuit?: boolean }> {
  if (specifier === "couler") return { url: data.coulerUrl, shortCircuit: true };
  const fromTs = context.parentURL !== undefined && TS_EXT.test(new URL(context.parentURL).pathname);
  if (fromTs && (specifier.startsWith("./") || specifier.startsWith("../"))) {
    // TypeScript style: `./lib.js` may name `./lib.ts`; `./lib` may name `./lib.ts` or `./lib/index.ts`.
    const candidates = /\.[cm]?js$/.test(specifier)
      ? [specifier, specifier.replace(/\.([cm]?)js$/, ".$1ts")]
      : /\.[cm]?ts$/.test(specifier)
        ? [specifier]
        : [specifier, `${specifier}.ts`, `${specifier}/index.ts`];
    let firstError: unknown;
    for (const c of candidates) {
      try {
        return await next(c, context);
      } catch (e) {
        firstError ??= e;
      }
    }
    throw firstError;
  }
  return next(specifier, context);
}

export async function load(
  url: string,
  context: unknown,
  next: LoadNext,
): Promise<{ format: string; source?: string | Uint8Array; shortCircuit?: boolean }> {
  if (!url.startsWith("file:") || !TS_EXT.test(new URL(url).pathname)) return next(url, context);
  const path = fileURLToPath(url);
  const text = readFileSync(path, "utf8");
  const name = basename(path);
  const key = createHash("sha256").update(data.cacheSalt).update("\0").update(name).update("\0").update(text).digest("hex");
  const cached = data.cacheDir ? readCache(key) : undefined;
  const entry = cached ?? (await transpile(text, name, path));
  if (cached === undefined && data.cacheDir) writeCache(key, entry);
  checkImports(entry.imports, path);
  return { format: "module", source: entry.source, shortCircuit: true };
}

let typeNames: Set<string> | undefined;

/** Every name imported from `"couler"` must be one of its exports (a value, or a type). */
function checkImports(imports: readonly ImportedName[], path: string): void {
  const values = new Set(data.coulerExports);
  const problems: HookProblem[] = [];
  for (const imp of imports) {
    if (values.has(imp.name)) continue;
    // Only now read the declaration files: most files import values only.
    typeNames ??= declaredExports(data.coulerTypes);
    if (typeNames.has(imp.name)) continue;
    // Functions first: a misspelt runStep means runScript, not the type RunOfStep.
    const hint = suggest(imp.name, values) || suggest(imp.name, [...typeNames].filter((n) => n !== "default"));
    const message =
      imp.name === "default"
        ? `"couler" has no default export: import what you use by name, e.g. import { workflow, runContainer } from "couler"`
        : `"couler" has no export named "${imp.name}"${hint}`;
    problems.push({ path, line: imp.line, col: imp.col, message, code: "unknown-import" });
  }
  if (problems.length) throw new Error(SYNTAX_ERROR_MARK + JSON.stringify(problems));
}

function readCache(key: string): Transpiled | undefined {
  try {
    const e = JSON.parse(readFileSync(join(data.cacheDir, `${key}.json`), "utf8")) as Transpiled;
    return typeof e.source === "string" && Array.isArray(e.imports) ? e : undefined;
  } catch {
    return undefined;
  }
}

function writeCache(key: string, entry: Transpiled): void {
  try {
    mkdirSync(data.cacheDir, { recursive: true });
    const final = join(data.cacheDir, `${key}.json`);
    const tmp = `${final}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(entry));
    renameSync(tmp, final);
  } catch {
    // A cache that cannot be written only costs time.
  }
}

async function transpile(text: string, name: string, path: string): Promise<Transpiled> {
  const ts = (await import("typescript")).default;
  const out = ts.transpileModule(text, {
    fileName: name,
    reportDiagnostics: true,
    compilerOptions: {
      module: ts.ModuleKind.ESNext,
      target: ts.ScriptTarget.ES2022,
      inlineSourceMap: true,
      verbatimModuleSyntax: false,
      isolatedModules: true,
      esModuleInterop: true,
    },
  });
  const errors = (out.diagnostics ?? []).filter((d) => d.category === ts.DiagnosticCategory.Error);
  if (errors.length) {
    const list = errors.map((d) => {
      const pos = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start) : { line: 0, character: 0 };
      return {
        path,
        line: pos.line + 1,
        col: pos.character + 1,
        message: `TS${d.code}: ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`,
      };
    });
    throw new Error(SYNTAX_ERROR_MARK + JSON.stringify(list));
  }
  // Read the imports off the source, before TypeScript erases the unused ones.
  const sf = ts.createSourceFile(name, text, ts.ScriptTarget.ES2022, true);
  const imports: ImportedName[] = [];
  const add = (node: import("typescript").Node, imported: string) => {
    const pos = sf.getLineAndCharacterOfPosition(node.getStart(sf));
    imports.push({ name: imported, line: pos.line + 1, col: pos.character + 1 });
  };
  for (const st of sf.statements) {
    const from = (ts.isImportDeclaration(st) || ts.isExportDeclaration(st)) && st.moduleSpecifier && ts.isStringLiteral(st.moduleSpecifier) ? st.moduleSpecifier.text : undefined;
    if (from !== "couler") continue;
    if (ts.isImportDeclaration(st)) {
      const clause = st.importClause;
      if (!clause || clause.isTypeOnly) continue;
      if (clause.name) add(clause.name, "default");
      if (clause.namedBindings && ts.isNamedImports(clause.namedBindings)) {
        for (const el of clause.namedBindings.elements) if (!el.isTypeOnly) add(el.propertyName ?? el.name, (el.propertyName ?? el.name).text);
      }
    } else if (ts.isExportDeclaration(st) && !st.isTypeOnly && st.exportClause && ts.isNamedExports(st.exportClause)) {
      for (const el of st.exportClause.elements) if (!el.isTypeOnly) add(el.propertyName ?? el.name, (el.propertyName ?? el.name).text);
    }
  }
  return { source: out.outputText, imports };
}
