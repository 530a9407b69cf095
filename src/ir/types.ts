/**
 * The engine-neutral intermediate representation (IR).
 *
 * Running a workflow program builds one `WorkflowIR`. It is plain JSON: no class
 * instances, no functions, optional fields omitted rather than `undefined`, so that
 * `--target ir` prints it canonically and every backend reads the same tree.
 * References between steps are structured values (`{ kind: "output", step, output }`),
 * never engine strings: each backend renders them in its own syntax.
 *
 * `ir.schema.json` beside this file is the JSON Schema of these types; it is checked
 * whenever a workflow is built.
 */

export const IR_VERSION = 1;

/** Where a DSL call was made: `file` is relative to the workflow file's folder, `/`-separated. */
export interface Loc {
  readonly file: string;
  readonly line: number;
  readonly col: number;
}

// ---------------------------------------------------------------- values

/** A workflow parameter, resolved at run time. */
export interface ParamRef {
  readonly kind: "param";
  readonly name: string;
}

/** Step `step`'s standard output (Couler's `.result`). */
export interface ResultRef {
  readonly kind: "result";
  readonly step: string;
}

/** Step `step`'s declared output parameter `output`. */
export interface OutputRef {
  readonly kind: "output";
  readonly step: string;
  readonly output: string;
}

/** Text made of literal pieces and references, e.g. `--date=${param("day")}`. Parts are never nested concats. */
export interface Concat {
  readonly kind: "concat";
  readonly parts: readonly (string | Ref)[];
}

export type Ref = ParamRef | ResultRef | OutputRef;

/** A plain JSON string is a literal. */
export type Value = string | Ref | Concat;

// ---------------------------------------------------------------- ordering

/**
 * The state of an upstream step that a dependency waits for.
 * - `ok`: finished without failing: succeeded, skipped by a condition, or omitted because its
 *   own dependencies were not met (the default edge: "after").
 * - `succeeded`, `failed`, `errored`, `skipped`, `omitted`, `daemoned`: exactly that state.
 * - `anySucceeded`, `allFailed`: for a fanned-out step, any / all of its instances.
 * - `any`: finished in any state (run whatever the outcome).
 */
export type DepStatus =
  | "ok"
  | "succeeded"
  | "failed"
  | "errored"
  | "skipped"
  | "omitted"
  | "daemoned"
  | "anySucceeded"
  | "allFailed"
  | "any";

export const DEP_STATUSES: readonly DepStatus[] = [
  "ok",
  "succeeded",
  "failed",
  "errored",
  "skipped",
  "omitted",
  "daemoned",
  "anySucceeded",
  "allFailed",
  "any",
];

export interface DepOn {
  readonly kind: "on";
  readonly step: string;
  readonly status: DepStatus;
}
export interface DepAnd {
  readonly kind: "and";
  readonly of: readonly Depends[];
}
export interface DepOr {
  readonly kind: "or";
  readonly of: readonly Depends[];
}
export interface DepNot {
  readonly kind: "not";
  readonly of: Depends;
}

/** When a step may start: a boolean expression over upstream steps' states. */
export type Depends = DepOn | DepAnd | DepOr | DepNot;

// ---------------------------------------------------------------- step parts

export interface EnvVar {
  readonly name: string;
  readonly value: Value;
}

/** An env var read from a key of an existing secret; the value never appears in any output. */
export interface SecretEnv {
  /** Name of the env var in the step. */
  readonly name: string;
  /** Name of the secret (a Kubernetes Secret; a repository secret on GitHub). */
  readonly secret: string;
  readonly key: string;
  readonly namespace?: string;
}

/** Retry policy. Durations are seconds. */
export interface Retry {
  /** Retries after the first attempt. */
  readonly limit: number;
  readonly backoff?: {
    readonly duration: number;
    readonly factor?: number;
    readonly maxDuration?: number;
  };
}

/** Kubernetes-style quantities, e.g. `{ cpu: "500m", memory: "1Gi" }`. */
export interface Resources {
  readonly requests?: Readonly<Record<string, string>>;
  readonly limits?: Readonly<Record<string, string>>;
}

/** An output parameter read from a file the step wrote. */
export interface OutputDecl {
  readonly name: string;
  readonly path: string;
  readonly loc: Loc;
}

// ---------------------------------------------------------------- steps

interface StepCommon {
  readonly name: string;
  readonly loc: Loc;
  /** When the step may start. Absent: at the start of the workflow. */
  readonly depends?: Depends;
  readonly image: string;
  readonly command?: readonly Value[];
  readonly args?: readonly Value[];
  readonly env?: readonly EnvVar[];
  readonly secretEnv?: readonly SecretEnv[];
  readonly resources?: Resources;
  /** Seconds. */
  readonly timeout?: number;
  readonly retry?: Retry;
  readonly imagePullPolicy?: "Always" | "IfNotPresent" | "Never";
  readonly workingDir?: string;
  readonly nodeSelector?: Readonly<Record<string, string>>;
  readonly outputs?: readonly OutputDecl[];
}

/** Run `command args` in `image`. */
export interface ContainerStep extends StepCommon {
  readonly kind: "container";
}

/** Run `source` with the interpreter `command` (e.g. `["python"]`) in `image`. */
export interface ScriptStep extends StepCommon {
  readonly kind: "script";
  readonly command: readonly Value[];
  readonly source: string;
  /** What the source is written in, when known (`javascript` for a function source). */
  readonly language?: "python" | "javascript" | "shell" | "other";
}

export type Step = ContainerStep | ScriptStep;
export type StepKind = Step["kind"];

// ---------------------------------------------------------------- workflow

export interface Param {
  readonly name: string;
  readonly default?: string;
  readonly description?: string;
  readonly loc: Loc;
}

export interface WorkflowConfig {
  /** Whole-workflow deadline, seconds. */
  readonly timeout?: number;
  /** Seconds to keep the finished workflow before it is deleted. */
  readonly timeToClean?: number;
  readonly serviceAccount?: string;
  readonly namespace?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
}

export interface WorkflowIR {
  readonly kind: "Workflow";
  readonly irVersion: typeof IR_VERSION;
  readonly name: string;
  /** The workflow file, relative to its own folder (its base name). */
  readonly source: string;
  readonly loc: Loc;
  readonly config: WorkflowConfig;
  readonly params: readonly Param[];
  /** In creation order. */
  readonly steps: readonly Step[];
}
