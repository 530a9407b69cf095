/**
 * The one interface every engine backend implements. A backend is a compiler from the IR
 * to files, plus a capability table saying, for each IR feature, whether it can express it.
 * The driver (`src/compile.ts`) refuses features a backend declares unsupported, with a
 * diagnostic naming the feature, the target and the DSL line, before the backend runs.
 */
import type { DiagnosticBag } from "../src/diagnostics.js";
import type { Capabilities } from "../src/ir/features.js";
import type { WorkflowIR } from "../src/ir/types.js";

export interface OutputFile {
  /** Relative to the output folder, `/`-separated. */
  readonly path: string;
  readonly content: string;
}

export interface CompileContext {
  /** Report target-specific problems here (located at the IR node's `loc`). */
  readonly diagnostics: DiagnosticBag;
  /** Backend options from the CLI (`--option key=value`), already checked against `options`. */
  readonly options: Readonly<Record<string, string>>;
  /**
   * Values of secrets the workflow declared with createSecret(), by secret name. Never
   * write them into a workflow manifest; a backend may emit them as a separate secret
   * document when the user asks for it.
   */
  readonly secretValues?: ReadonlyMap<string, Readonly<Record<string, string>>>;
}

export interface BackendOption {
  readonly description: string;
  /** Allowed values; any string when absent. */
  readonly values?: readonly string[];
  readonly default?: string;
}

export interface Backend {
  /** The `--target` name. */
  readonly name: string;
  readonly description: string;
  readonly capabilities: Capabilities;
  /**
   * Target options. Each is also a CLI flag `--<target>-<option> <value>` (e.g.
   * `--airflow-version 3`), besides the generic `--option key=value`.
   */
  readonly options: Readonly<Record<string, BackendOption>>;
  /** Option sets that the golden suite compiles every fixture with, besides the defaults (golden/<target>-<variant>/). */
  readonly goldenVariants?: readonly { readonly name: string; readonly options: Readonly<Record<string, string>> }[];
  /** Compile one workflow; problems go into `ctx.diagnostics`. */
  compile(wf: WorkflowIR, ctx: CompileContext): OutputFile[];
  /** How several files are shown on stdout (e.g. YAML documents joined by `---`). */
  joinForStdout(files: readonly OutputFile[]): string;
}

/** Every feature supported: the starting point for a backend's table. */
export type { Capabilities };
