/**
 * Load a user's workflow file: register our module hooks once, import the file, and
 * collect the workflows it exports. Syntax errors and exceptions thrown by the user's
 * program become located diagnostics, never raw stack dumps.
 */
import { accessSync, constants, readFileSync, statSync } from "node:fs";
import { register } from "node:module";
import { homedir } from "node:os";
import { dirname, join, resolve as resolvePath, sep } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { error, type Diagnostic } from "../diagnostics.js";
import { isWorkflow, type Workflow } from "../dsl/workflow.js";
import type { Loc } from "../ir/types.js";
import { type HookData, type HookProblem, SYNTAX_ERROR_MARK } from "./hooks.js";

export interface LoadedWorkflow {
  /** `default` or the export's name. */
  readonly exportName: string;
  readonly workflow: Workflow;
}

export interface LoadResult {
  readonly file: string;
  readonly workflows: readonly LoadedWorkflow[];
  /** Diagnostics about loading; their locations are relative to the file's folder. */
  readonly diagnostics: readonly Diagnostic[];
  /** The folder locations are relative to. */
  readonly baseDir: string;
}

let registered: Promise<void> | undefined;
// 2: cache entries are JSON with the file's imports from "couler".
const LOADER_VERSION = "2";

function cacheDir(): string {
  const env = process.env.COULER_CACHE_DIR;
  if (env !== undefined) return env; // empty disables the cache
  const base = process.env.XDG_CACHE_HOME || join(homedir(), ".cache");
  return join(base, "couler-ts");
}

function typescriptVersion(): string {
  try {
    const pkg = fileURLToPath(import.meta.resolve("typescript/package.json"));
    return (JSON.parse(readFileSync(pkg, "utf8")) as { version: string }).version;
  } catch {
    return "unknown";
  }
}

export function ensureLoader(): Promise<void> {
  registered ??= (async () => {
    process.setSourceMapsEnabled(true);
    const coulerUrl = new URL("../index.js", import.meta.url).href;
    // The user's file imports this very module next, so loading it here costs nothing extra.
    const api = (await import(coulerUrl)) as Record<string, unknown>;
    const data: HookData = {
      coulerUrl,
      cacheDir: cacheDir(),
      cacheSalt: `${LOADER_VERSION}:${typescriptVersion()}`,
      coulerExports: Object.keys(api),
      coulerTypes: fileURLToPath(new URL("../index.d.ts", import.meta.url)),
    };
    register(new URL("./hooks.js", import.meta.url), { data });
  })();
  return registered;
}

// Frames in our own code are not where the user's program went wrong.
const OWN_DIRS = [fileURLToPath(new URL("../", import.meta.url)), fileURLToPath(new URL("../../backends/", import.meta.url))];

/** The first user frame of an error's stack, relative to `baseDir`. */
function userFrame(e: unknown, baseDir: string): Loc | undefined {
  const stack = e instanceof Error && typeof e.stack === "string" ? e.stack : "";
  for (const line of stack.split("\n").slice(1)) {
    const m = /\(?((?:file:\/\/)?\/[^()]*?):(\d+):(\d+)\)?\s*$/.exec(line.trim());
    if (!m) continue;
    const raw = m[1]!;
    const path = raw.startsWith("file://") ? fileURLToPath(raw) : raw;
    if (OWN_DIRS.some((d) => path.startsWith(d)) || path.includes(`${sep}node_modules${sep}`)) continue;
    // Source maps are enabled (ensureLoader), so the stack already points into the .ts file.
    return relLoc(path, Number(m[2]), Number(m[3]), baseDir);
  }
  return undefined;
}

function relLoc(path: string, line: number, col: number, baseDir: string): Loc {
  const rel = path.startsWith(baseDir + sep) ? path.slice(baseDir.length + 1).split(sep).join("/") : path;
  return { file: rel, line, col };
}

/** Import `file` and return the workflows it exports. */
export async function loadWorkflowFile(file: string, display: string = file): Promise<LoadResult> {
  const abs = resolvePath(file);
  const baseDir = dirname(abs);
  const fileLoc: Loc = { file: abs.slice(baseDir.length + 1), line: 1, col: 1 };
  const fail = (d: Diagnostic): LoadResult => ({ file: abs, workflows: [], diagnostics: [d], baseDir });
  try {
    if (!statSync(abs).isFile()) return fail(error("unreadable-file", `${display} is not a file`));
    accessSync(abs, constants.R_OK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "no such file" : code === "EACCES" ? "permission denied" : String((e as Error).message);
    return fail(error("unreadable-file", `cannot read workflow file ${display}: ${why}`));
  }
  await ensureLoader();
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(abs).href)) as Record<string, unknown>;
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    const at = msg.indexOf(SYNTAX_ERROR_MARK);
    if (at >= 0) {
      const list = JSON.parse(msg.slice(at + SYNTAX_ERROR_MARK.length)) as HookProblem[];
      return {
        file: abs,
        workflows: [],
        baseDir,
        diagnostics: list.map((d) => error(d.code ?? "syntax", d.message, relLoc(d.path, d.line, d.col, baseDir))),
      };
    }
    if (e instanceof SyntaxError || (e as { code?: string })?.code === "ERR_MODULE_NOT_FOUND") {
      return fail(error("load", `${e instanceof Error ? e.message : String(e)}`, userFrame(e, baseDir) ?? fileLoc));
    }
    const where = userFrame(e, baseDir) ?? fileLoc;
    const name = e instanceof Error ? e.name : "exception";
    return fail(error("exception", `the workflow program threw ${name}: ${msg}`, where));
  }
  const workflows: LoadedWorkflow[] = [];
  const seen = new Set<unknown>();
  const names = Object.keys(mod).sort((a, b) => (a === "default" ? -1 : b === "default" ? 1 : a < b ? -1 : a > b ? 1 : 0));
  for (const exportName of names) {
    const v = mod[exportName];
    const list = Array.isArray(v) ? v : [v];
    for (const w of list) {
      if (isWorkflow(w) && !seen.has(w)) {
        seen.add(w);
        workflows.push({ exportName, workflow: w });
      }
    }
  }
  if (workflows.length === 0) {
    return fail(
      error("no-workflow", `no workflow exported: add \`export default workflow("name", () => { ... })\``, fileLoc),
    );
  }
  return { file: abs, workflows, diagnostics: [], baseDir };
}
