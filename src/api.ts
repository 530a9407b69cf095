/**
 * The programmatic API: `compile` and `run` from code, with what the CLI does, and nothing
 * written to disk. Importing "couler" for the DSL must stay cheap, so the backends, the
 * loader and the runner are imported only when these functions are called (hence async).
 * ```ts
 * const { files, diagnostics } = await compile("flows/etl.ts", { target: "argo" });
 * const record = await run(etl, { container: "none", params: { day: "2024-02-01" } });
 * ```
 */
import type { Diagnostic } from "./diagnostics.js";
import type { Workflow } from "./dsl/workflow.js";
import type { RunEvent, RunOptions } from "./run/interpreter.js";
import type { RunRecord } from "./run/record.js";

export interface CompileOptions {
  /** `argo`, `tekton`, `airflow`, `github` or `ir` (`couler targets`). */
  target: string;
  /** Target options, as `--option key=value` on the command line; defaults fill the rest. */
  options?: Readonly<Record<string, string>>;
  /** For a file exporting several workflows: compile only this one (default: all). */
  workflow?: string;
}

export interface CompiledFile {
  /** Relative to an output folder, `/`-separated (what `couler compile -o dir` would write). */
  readonly path: string;
  readonly content: string;
}

export interface CompileResult {
  /** Empty when any diagnostic is an error. */
  readonly files: readonly CompiledFile[];
  /** Sorted; each `loc.file` is an absolute path. */
  readonly diagnostics: readonly Diagnostic[];
}

export interface RunWorkflowOptions extends Partial<Omit<RunOptions, "container">> {
  /** `none` runs each step's command on this machine; `auto` (default) uses docker or podman. */
  container?: "none" | "auto" | { readonly runtime: string };
  /** For a file exporting several workflows: the one to run. */
  workflow?: string;
  /** Called with each event of the run (start, output line, end…). */
  onEvent?: (e: RunEvent) => void;
}

/** A usage mistake (unknown target or option, no such workflow): thrown, as the CLI exits 2. */
export class CoulerUsageError extends Error {
  override name = "CoulerUsageError";
}

/** The workflow has errors: nothing was run. `diagnostics` says what and where. */
export class CoulerDiagnosticsError extends Error {
  override name = "CoulerDiagnosticsError";
  constructor(readonly diagnostics: readonly Diagnostic[]) {
    super(diagnostics.map((d) => `${d.loc ? `${d.loc.file}:${d.loc.line}:${d.loc.col}: ` : ""}${d.severity}: ${d.message}`).join("\n"));
  }
}

async function workflowsOf(workflowOrFile: Workflow | string): Promise<{ workflows: Workflow[]; diagnostics: Diagnostic[] }> {
  const { resolve } = await import("node:path");
  if (typeof workflowOrFile !== "string") return { workflows: [workflowOrFile], diagnostics: [] };
  const { loadWorkflowFile } = await import("./loader/load.js");
  const l = await loadWorkflowFile(resolve(workflowOrFile), workflowOrFile);
  return { workflows: l.workflows.map((w) => w.workflow), diagnostics: l.diagnostics.map((d) => absolute(d, l.baseDir, resolve)) };
}

function absolute(d: Diagnostic, baseDir: string, resolve: (...p: string[]) => string): Diagnostic {
  return d.loc ? { ...d, loc: { ...d.loc, file: resolve(baseDir, d.loc.file) } } : d;
}

function pick(workflows: Workflow[], only: string | undefined, suggest: (n: string, c: string[]) => string): Workflow[] {
  if (only === undefined) return workflows;
  const found = workflows.filter((w) => w.name === only);
  const names = workflows.map((w) => w.name);
  if (!found.length && workflows.length) throw new CoulerUsageError(`no workflow named "${only}"${suggest(only, names)}; found: ${names.join(", ")}`);
  return found;
}

/**
 * Compile a workflow (a built `Workflow`, or the path of a workflow file) for a target.
 * Returns the files and the diagnostics; writes nothing.
 * ```ts
 * const { files } = await compile("flows/etl.ts", { target: "tekton" });
 * for (const f of files) console.log(f.path, f.content.length);
 * ```
 */
export async function compile(workflowOrFile: Workflow | string, opts: CompileOptions): Promise<CompileResult> {
  const [{ findBackend, targetNames }, { compileWorkflow }, { sortDiagnostics, suggest }, { resolve }] = await Promise.all([
    import("../backends/registry.js"),
    import("./compile.js"),
    import("./diagnostics.js"),
    import("node:path"),
  ]);
  const backend = findBackend(opts.target);
  if (!backend) throw new CoulerUsageError(`unknown target "${opts.target}"${suggest(opts.target, targetNames())}; targets: ${targetNames().join(", ")}`);
  const options: Record<string, string> = {};
  for (const [k, o] of Object.entries(backend.options)) if (o.default !== undefined) options[k] = o.default;
  for (const [k, v] of Object.entries(opts.options ?? {})) {
    const spec = backend.options[k];
    if (!spec) throw new CoulerUsageError(`target ${backend.name} has no option "${k}"${suggest(k, Object.keys(backend.options))}`);
    if (spec.values && !spec.values.includes(v)) throw new CoulerUsageError(`option ${k} of target ${backend.name} must be one of ${spec.values.join(", ")}, got "${v}"`);
    options[k] = v;
  }
  const loaded = await workflowsOf(workflowOrFile);
  const diagnostics = [...loaded.diagnostics];
  const files: CompiledFile[] = [];
  for (const wf of pick(loaded.workflows, opts.workflow, suggest)) {
    const out = compileWorkflow(wf, backend, options);
    diagnostics.push(...out.diagnostics.map((d) => absolute(d, wf.baseDir, resolve)));
    files.push(...out.files.map((f) => ({ path: f.path, content: f.content })));
  }
  const failed = diagnostics.some((d) => d.severity === "error");
  return { files: failed ? [] : files, diagnostics: sortDiagnostics(diagnostics) };
}

/**
 * Run a workflow on this machine, as `couler run` does, and return its run record.
 * Throws `CoulerDiagnosticsError` when the workflow has errors (nothing runs).
 * ```ts
 * const record = await run("flows/etl.ts", { container: "none" });
 * record.status; // "Succeeded"
 * ```
 */
export async function run(workflowOrFile: Workflow | string, opts: RunWorkflowOptions = {}): Promise<RunRecord> {
  const [{ runWorkflow, RunSetupError }, { probeRuntime }, { suggest }] = await Promise.all([
    import("./run/interpreter.js"),
    import("./run/runtime.js"),
    import("./diagnostics.js"),
  ]);
  const loaded = await workflowsOf(workflowOrFile);
  const chosen = pick(loaded.workflows, opts.workflow, suggest);
  const errors = [...loaded.diagnostics, ...chosen.flatMap((w) => w.diagnostics)].filter((d) => d.severity === "error");
  if (errors.length) throw new CoulerDiagnosticsError(errors);
  if (chosen.length !== 1) throw new CoulerUsageError(`${chosen.length} workflows: pick one with { workflow: name }`);
  const { container = "auto", workflow: _w, onEvent, ...rest } = opts;
  let runtime: RunOptions["container"];
  if (container === "auto") {
    const probe = await probeRuntime();
    if (!probe.runtime) throw new RunSetupError(`no usable container runtime (${probe.why}); pass { container: "none" } to run each step's command on this machine`);
    runtime = { runtime: probe.runtime };
  } else runtime = container;
  return runWorkflow(chosen[0]!.ir, { ...rest, container: runtime }, onEvent);
}
