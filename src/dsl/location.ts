/**
 * Where did the user call us? Every DSL call records the first stack frame outside this
 * package, mapped through source maps to the user's `.ts` file, so diagnostics can say
 * `flows/etl.ts:14:5`.
 */
import { findSourceMap } from "node:module";
import { fileURLToPath } from "node:url";

/** An absolute location; the scope turns it into an IR `Loc` relative to the workflow file. */
export interface AbsLoc {
  readonly path: string;
  readonly line: number;
  readonly col: number;
}

// Frames in our own `src/` and `backends/` (as built) are not the user's.
const OWN_DIRS = [fileURLToPath(new URL("../", import.meta.url)), fileURLToPath(new URL("../../backends/", import.meta.url))];

function toPath(fileName: string): string {
  return fileName.startsWith("file://") ? fileURLToPath(fileName) : fileName;
}

function isOwn(path: string): boolean {
  return OWN_DIRS.some((d) => path.startsWith(d));
}

const rawStack = (_e: Error, sites: NodeJS.CallSite[]) => sites;

/** The calling user frame, or undefined when none can be found (e.g. called from the REPL). */
export function callerLoc(): AbsLoc | undefined {
  // A shallow stack is cheap and almost always reaches the user's frame; go deeper only if not.
  return findUserFrame(capture(12)) ?? findUserFrame(capture(200));
}

function capture(limit: number): NodeJS.CallSite[] | undefined {
  const prevPrepare = Error.prepareStackTrace;
  const prevLimit = Error.stackTraceLimit;
  Error.prepareStackTrace = rawStack;
  Error.stackTraceLimit = limit;
  const holder: { stack?: unknown } = {};
  Error.captureStackTrace(holder, capture);
  const sites = holder.stack as NodeJS.CallSite[] | undefined;
  Error.prepareStackTrace = prevPrepare;
  Error.stackTraceLimit = prevLimit;
  return Array.isArray(sites) ? sites : undefined;
}

function findUserFrame(sites: NodeJS.CallSite[] | undefined): AbsLoc | undefined {
  if (!sites) return undefined;
  for (const site of sites) {
    const fileName = site.getFileName();
    if (!fileName || fileName.startsWith("node:")) continue;
    const path = toPath(fileName);
    if (isOwn(path)) continue;
    const line = site.getLineNumber() ?? 0;
    const col = site.getColumnNumber() ?? 0;
    return mapLoc(fileName, path, line, col);
  }
  return undefined;
}

/** Map a generated position to its original through the file's source map, when Node has one. */
export function mapLoc(fileName: string, path: string, line: number, col: number): AbsLoc {
  const map = findSourceMap(fileName) ?? findSourceMap(path);
  if (map) {
    const e = map.findEntry(line - 1, col - 1) as {
      originalSource?: string;
      originalLine?: number;
      originalColumn?: number;
    };
    if (e && e.originalSource !== undefined && e.originalLine !== undefined && e.originalColumn !== undefined) {
      return { path: toPath(e.originalSource), line: e.originalLine + 1, col: e.originalColumn + 1 };
    }
  }
  return { path, line, col };
}
