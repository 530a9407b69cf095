/**
 * Node module hooks (registered with `module.register`) that let the CLI import a user's
 * workflow file written in TypeScript:
 * - `import ... from "couler"` resolves to this very package, so the user's DSL calls and
 *   the CLI share one module instance wherever the file lives on disk;
 * - local `.ts` modules load transpiled, with an inline source map so stack frames and
 *   DSL locations point into the `.ts` source;
 * - transpiled text is cached by content hash, so TypeScript (about 0.25 s to load) is only
 *   loaded when a file changed.
 * These hooks run on Node's loader thread.
 */
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";

export interface HookData {
  /** URL of this package's entry module, what `"couler"` resolves to. */
  coulerUrl: string;
  /** Folder for cached transpiled files; empty to disable the cache. */
  cacheDir: string;
  /** Part of the cache key: changes whenever our loader or TypeScript changes. */
  cacheSalt: string;
}

/** Marks an error thrown for a TypeScript syntax error; its message continues with JSON. */
export const SYNTAX_ERROR_MARK = "COULER_TS_SYNTAX_ERROR\n";

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
  const source = cached ?? (await transpile(text, name, path));
  if (cached === undefined && data.cacheDir) writeCache(key, source);
  return { format: "module", source, shortCircuit: true };
}

function readCache(key: string): string | undefined {
  try {
    return readFileSync(join(data.cacheDir, `${key}.js`), "utf8");
  } catch {
    return undefined;
  }
}

function writeCache(key: string, source: string): void {
  try {
    mkdirSync(data.cacheDir, { recursive: true });
    const final = join(data.cacheDir, `${key}.js`);
    const tmp = `${final}.${process.pid}.tmp`;
    writeFileSync(tmp, source);
    renameSync(tmp, final);
  } catch {
    // A cache that cannot be written only costs time.
  }
}

async function transpile(text: string, name: string, path: string): Promise<string> {
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
  return out.outputText;
}
