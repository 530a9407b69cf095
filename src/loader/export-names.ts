/**
 * The names a package entry's `.d.ts` exports, types included, read without TypeScript:
 * the declaration files `tsc` emits are regular enough (`export declare function x`,
 * `export interface X`, `export { a, type B } from "./m.js"`, `export type * from "./m.js"`)
 * for a scan. The loader asks this only when a user imports a name that is not a value
 * export, to tell a type (fine: the import is erased) from a misspelt name; a test checks
 * the scan against TypeScript's own list.
 * ```ts
 * declaredExports("/…/dist/src/index.d.ts").has("StepOptions"); // true
 * ```
 */
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";

const DECL = /^export\s+(?:declare\s+)?(?:abstract\s+)?(?:const\s+enum|function\*?|const|let|var|class|interface|type|enum|namespace|module)\s+([A-Za-z_$][\w$]*)/gm;
const LIST = /^export\s+(?:type\s+)?\{([^}]*)\}(?:\s*from\s*["']([^"']+)["'])?/gm;
const STAR = /^export\s+(?:type\s+)?\*(?:\s+as\s+([A-Za-z_$][\w$]*))?\s+from\s*["']([^"']+)["']/gm;

export function declaredExports(dtsPath: string, seen: Set<string> = new Set()): Set<string> {
  const out = new Set<string>();
  if (seen.has(dtsPath)) return out;
  seen.add(dtsPath);
  let text: string;
  try {
    text = readFileSync(dtsPath, "utf8");
  } catch {
    return out;
  }
  text = text.replace(/\/\*[\s\S]*?\*\//g, "");
  for (const m of text.matchAll(DECL)) out.add(m[1]!);
  if (/^export\s+default\b/m.test(text)) out.add("default");
  for (const m of text.matchAll(LIST)) {
    for (const part of m[1]!.split(",")) {
      const words = part.trim().replace(/^type\s+/, "").split(/\s+as\s+/);
      const name = (words[1] ?? words[0] ?? "").trim();
      if (name) out.add(name);
    }
  }
  for (const m of text.matchAll(STAR)) {
    if (m[1] !== undefined) out.add(m[1]);
    else if (m[2]!.startsWith(".")) {
      const target = resolve(dirname(dtsPath), m[2]!.replace(/\.[cm]?js$/, "").replace(/\.d\.ts$/, "")) + ".d.ts";
      for (const n of declaredExports(target, seen)) if (n !== "default") out.add(n);
    }
  }
  return out;
}
