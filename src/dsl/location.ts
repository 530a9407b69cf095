/**
 * Where did the user call us? Every DSL call records the first stack frame outside this
 * package, mapped through source maps to the user's `.ts` file, so diagnostics can say
 * `flows/etl.ts:14:5`.
 *
 * This runs once per step, so it is kept cheap: V8's structured call sites (no stack text
 * is formatted), and what a frame's file name says (its path, whether it is ours, its source
 * map) is worked out once per file, not once per call.
 */
import { findSourceMap, type SourceMap } from "node:module";
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

/** What a frame's file name tells us; `map` is looked up on first use (the module is loaded by then). */
interface FileInfo {
  readonly path: string;
  readonly skip: boolean;
  map?: SourceMap | null;
}

const files = new Map<string, FileInfo>();

function fileInfo(fileName: string): FileInfo {
  let info = files.get(fileName);
  if (info === undefined) {
    const skip = fileName.startsWith("node:");
    const path = skip ? fileName : toPath(fileName);
    info = { path, skip: skip || isOwn(path) };
    files.set(fileName, info);
  }
  return info;
}

const rawStack = (_e: Error, sites: NodeJS.CallSite[]) => sites;

/** The calling user frame, or undefined when none can be found (e.g. called from the REPL). */
export function callerLoc(): AbsLoc | undefined {
  // A shallow stack is cheap and almost always reaches the user's frame (a DSL function is
  // at most four of our frames deep: here, registerStep, createStep, runContainer); go
  // deeper only if not.
  return findUserFrame(capture(6)) ?? findUserFrame(capture(200));
}

/** Call sites above `callerLoc` (each one captured costs, so `limit` is kept small). */
function capture(limit: number): NodeJS.CallSite[] | undefined {
  const prevPrepare = Error.prepareStackTrace;
  const prevLimit = Error.stackTraceLimit;
  Error.prepareStackTrace = rawStack;
  Error.stackTraceLimit = limit;
  const holder: { stack?: unknown } = {};
  Error.captureStackTrace(holder, callerLoc);
  const sites = holder.stack as NodeJS.CallSite[] | undefined;
  Error.prepareStackTrace = prevPrepare;
  Error.stackTraceLimit = prevLimit;
  return Array.isArray(sites) ? sites : undefined;
}

function findUserFrame(sites: NodeJS.CallSite[] | undefined): AbsLoc | undefined {
  if (!sites) return undefined;
  for (const site of sites) {
    const fileName = site.getFileName();
    if (!fileName) continue;
    const info = fileInfo(fileName);
    if (info.skip) continue;
    const line = site.getLineNumber() ?? 0;
    const col = site.getColumnNumber() ?? 0;
    if (info.map === undefined) info.map = findSourceMap(fileName) ?? findSourceMap(info.path) ?? null;
    return info.map ? mapped(info.map, info.path, line, col) : { path: info.path, line, col };
  }
  return undefined;
}

/** Map a generated position to its original through the file's source map, when Node has one. */
export function mapLoc(fileName: string, path: string, line: number, col: number): AbsLoc {
  const map = findSourceMap(fileName) ?? findSourceMap(path);
  return map ? mapped(map, path, line, col) : { path, line, col };
}

function mapped(map: SourceMap, path: string, line: number, col: number): AbsLoc {
  const e = map.findEntry(line - 1, col - 1) as {
    originalSource?: string;
    originalLine?: number;
    originalColumn?: number;
  };
  if (e && e.originalSource !== undefined && e.originalLine !== undefined && e.originalColumn !== undefined) {
    return { path: sourcePath(e.originalSource), line: e.originalLine + 1, col: e.originalColumn + 1 };
  }
  return { path, line, col };
}

const sourcePaths = new Map<string, string>();

function sourcePath(source: string): string {
  let p = sourcePaths.get(source);
  if (p === undefined) sourcePaths.set(source, (p = toPath(source)));
  return p;
}
