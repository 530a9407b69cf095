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

/**
 * Step `step`'s standard output (Couler's `.result`). For a fanned-out step (`loop`), read
 * by a step outside the loop, it is the JSON list of every instance's result (fan-in).
 */
export interface ResultRef {
  readonly kind: "result";
  readonly step: string;
}

/** Step `step`'s declared output parameter `output` (a JSON list for a fanned-out step, as above). */
export interface OutputRef {
  readonly kind: "output";
  readonly step: string;
  readonly output: string;
}

/**
 * The current item of the step's own `loop`. `index` picks one of several zipped lists
 * (static items); `field` picks a key of an object item (run-time JSON lists of objects).
 * Neither: the whole item.
 */
export interface ItemRef {
  readonly kind: "item";
  readonly index?: number;
  readonly field?: string;
}

/** Facts about the running workflow: its name, or (in exit handlers) its final status. */
export interface WorkflowRef {
  readonly kind: "workflow";
  readonly field: "name" | "status";
}

export type Ref = ParamRef | ResultRef | OutputRef | ItemRef | WorkflowRef;

/** Text made of literal pieces and references, e.g. `--date=${param("day")}`. Parts are never nested concats. */
export interface Concat {
  readonly kind: "concat";
  readonly parts: readonly (string | Ref)[];
}

/** A plain JSON string is a literal. */
export type Value = string | Ref | Concat;

// ---------------------------------------------------------------- conditions

/**
 * Compare two values. `eq`/`ne` compare text exactly (a step result without its final
 * newline); `gt`, `lt`, `ge`, `le` compare numbers.
 */
export interface CondCompare {
  readonly kind: "compare";
  readonly op: "eq" | "ne" | "gt" | "lt" | "ge" | "le";
  readonly left: Value;
  readonly right: Value;
}
export interface CondAnd {
  readonly kind: "and";
  readonly of: readonly Condition[];
}
export interface CondOr {
  readonly kind: "or";
  readonly of: readonly Condition[];
}
export interface CondNot {
  readonly kind: "not";
  readonly of: Condition;
}

/** A run-time condition (`when`, `execWhile`, exit-handler status). */
export type Condition = CondCompare | CondAnd | CondOr | CondNot;

// ---------------------------------------------------------------- ordering

/**
 * The state of an upstream step that a dependency waits for.
 * - `ok`: the parent succeeded, was skipped by its own condition (or an empty fan-out), or is a
 *   running daemon (the default edge: "after"). A parent that failed or was omitted omits the
 *   step: failure propagates down plain edges, as on every engine (Argo `depends: A` is
 *   `A.Succeeded || A.Skipped || A.Daemoned`; Airflow `none_failed` meets `upstream_failed`;
 *   GitHub skips a job whose `needs` did not succeed).
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

/** A key of an existing secret (a Kubernetes Secret; a repository secret on GitHub). */
export interface SecretKeyRef {
  readonly secret: string;
  readonly key: string;
}

/** An env var read from a key of an existing secret; the value never appears in any output. */
export interface SecretEnv {
  /** Name of the env var in the step. */
  readonly name: string;
  /** Name of the secret. */
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

/**
 * An output parameter: read from a file the step wrote (`path`, container and script
 * steps), or from the created object (`jsonPath`, resource steps).
 */
export interface OutputDecl {
  readonly name: string;
  readonly path?: string;
  readonly jsonPath?: string;
  readonly loc: Loc;
}

/** Where an artifact lives outside the engine. Credentials are only ever secret references. */
export type ArtifactLocation =
  | {
      readonly kind: "s3";
      readonly bucket: string;
      readonly key: string;
      readonly endpoint?: string;
      readonly region?: string;
      readonly insecure?: boolean;
      readonly accessKey?: SecretKeyRef;
      readonly secretKey?: SecretKeyRef;
    }
  | { readonly kind: "gcs"; readonly bucket: string; readonly key: string; readonly serviceAccountKey?: SecretKeyRef }
  | {
      readonly kind: "oss";
      readonly bucket: string;
      readonly key: string;
      readonly endpoint: string;
      readonly accessKey?: SecretKeyRef;
      readonly secretKey?: SecretKeyRef;
    }
  | {
      readonly kind: "git";
      readonly repo: string;
      readonly revision?: string;
      readonly depth?: number;
      readonly username?: SecretKeyRef;
      readonly password?: SecretKeyRef;
      readonly sshPrivateKey?: SecretKeyRef;
    }
  | { readonly kind: "http"; readonly url: string };

/**
 * A file or folder the step leaves behind at `path`, kept as artifact `name`: in the
 * engine's default artifact store, or at `store`.
 */
export interface OutputArtifact {
  readonly name: string;
  readonly path: string;
  readonly store?: ArtifactLocation;
  readonly loc: Loc;
}

/** A file or folder placed at `path` before the step starts: another step's artifact, or fetched from a location. */
export interface InputArtifact {
  readonly name: string;
  readonly path: string;
  readonly from:
    | { readonly kind: "step"; readonly step: string; readonly artifact: string }
    | { readonly kind: "location"; readonly location: ArtifactLocation };
  readonly loc: Loc;
}

/** Mount workflow volume `volume` (see `WorkflowConfig.volumes`) into the step. */
export interface VolumeMount {
  readonly volume: string;
  readonly mountPath: string;
  readonly subPath?: string;
  readonly readOnly?: boolean;
}

/** A Kubernetes toleration. */
export interface Toleration {
  readonly key?: string;
  readonly operator?: "Exists" | "Equal";
  readonly value?: string;
  readonly effect?: "NoSchedule" | "PreferNoSchedule" | "NoExecute";
  readonly tolerationSeconds?: number;
}

/** A JSON object passed through to Kubernetes as is (affinity, security context, DNS config). */
export type KubeObject = { readonly [key: string]: Json };
export type Json = string | number | boolean | null | readonly Json[] | { readonly [key: string]: Json };

/** A helper container beside the step's main one (Argo sidecars). */
export interface Sidecar {
  readonly name: string;
  readonly image: string;
  readonly command?: readonly string[];
  readonly args?: readonly string[];
  readonly env?: readonly EnvVar[];
  readonly mirrorVolumeMounts?: boolean;
}

/** Memoization: reuse a previous run's outputs for the same `key` (Argo `memoize`). */
export interface Cache {
  /** Where cached entries live (a ConfigMap's name on Kubernetes). */
  readonly name: string;
  readonly key: Value;
  /** Seconds an entry stays valid. */
  readonly maxAge?: number;
}

/**
 * Fan-out: run the step once per item. `items` are rows of static values (one value per
 * zipped list); `from` is a JSON list produced at run time (a step output or a parameter).
 */
export type Loop =
  | { readonly kind: "items"; readonly items: readonly (readonly string[])[]; readonly parallelism?: number }
  | { readonly kind: "from"; readonly source: ParamRef | ResultRef | OutputRef; readonly parallelism?: number };

// ---------------------------------------------------------------- steps

interface StepBase {
  readonly name: string;
  readonly loc: Loc;
  /** When the step may start. Absent: at the start of its graph. */
  readonly depends?: Depends;
  /** Run only when this holds (else the step is skipped, which counts as `ok`). */
  readonly when?: Condition;
  /** Run once per item. */
  readonly loop?: Loop;
  /** Seconds. */
  readonly timeout?: number;
  readonly retry?: Retry;
  readonly outputs?: readonly OutputDecl[];
  readonly cache?: Cache;
}

/** Fields of steps that run a container. */
interface PodStep extends StepBase {
  readonly image: string;
  readonly command?: readonly Value[];
  readonly args?: readonly Value[];
  readonly env?: readonly EnvVar[];
  readonly secretEnv?: readonly SecretEnv[];
  readonly resources?: Resources;
  readonly imagePullPolicy?: "Always" | "IfNotPresent" | "Never";
  readonly workingDir?: string;
  readonly nodeSelector?: Readonly<Record<string, string>>;
  /** Labels of the machine to run on, where the engine picks machines by label (GitHub Actions `runs-on`). */
  readonly runsOn?: readonly string[];
  readonly inputArtifacts?: readonly InputArtifact[];
  readonly outputArtifacts?: readonly OutputArtifact[];
  readonly volumeMounts?: readonly VolumeMount[];
  readonly tolerations?: readonly Toleration[];
  readonly affinity?: KubeObject;
  /** Container-level security context. */
  readonly securityContext?: KubeObject;
  readonly sidecars?: readonly Sidecar[];
  /** Keeps running in the background (a server) while later steps run; stopped at the end. */
  readonly daemon?: boolean;
}

/** Run `command args` in `image`. */
export interface ContainerStep extends PodStep {
  readonly kind: "container";
}

/** Run `source` with the interpreter `command` (e.g. `["python"]`) in `image`. */
export interface ScriptStep extends PodStep {
  readonly kind: "script";
  readonly command: readonly Value[];
  readonly source: string;
  /** What the source is written in, when known (`javascript` for a function source). */
  readonly language?: "python" | "javascript" | "shell" | "other";
}

/** Act on a Kubernetes object (`kubectl <action>`), e.g. create a Job and wait for it. */
export interface ResourceStep extends StepBase {
  readonly kind: "resource";
  readonly action: "create" | "apply" | "delete" | "get" | "replace" | "patch";
  /** The object, as YAML text. */
  readonly manifest: string;
  /** Kubernetes label-selector-style conditions on the object, e.g. `status.succeeded > 0`. */
  readonly successCondition?: string;
  readonly failureCondition?: string;
  readonly setOwnerReference?: boolean;
}

/** Call a template of a reusable, already installed workflow template. */
export interface TemplateRefStep extends StepBase {
  readonly kind: "templateRef";
  readonly ref: { readonly name: string; readonly template: string; readonly clusterScope?: boolean };
  readonly arguments?: readonly { readonly name: string; readonly value: Value }[];
}

/**
 * Repeat `body` (its own little graph) while `condition`, evaluated after each round, holds.
 * Body step names are unique in the whole workflow.
 */
export interface WhileStep extends StepBase {
  readonly kind: "while";
  readonly condition: Condition;
  readonly body: readonly Step[];
}

export type Step = ContainerStep | ScriptStep | ResourceStep | TemplateRefStep | WhileStep;
export type StepKind = Step["kind"];
export type PodStepKind = ContainerStep | ScriptStep;

// ---------------------------------------------------------------- workflow

export interface Param {
  readonly name: string;
  readonly default?: string;
  readonly description?: string;
  readonly loc: Loc;
}

export type WorkflowVolume =
  | { readonly name: string; readonly kind: "pvc"; readonly claimName: string; readonly readOnly?: boolean }
  | { readonly name: string; readonly kind: "emptyDir"; readonly medium?: "Memory"; readonly sizeLimit?: string }
  | {
      readonly name: string;
      readonly kind: "claim";
      readonly size: string;
      readonly accessModes: readonly string[];
      readonly storageClass?: string;
    };

export interface CronConfig {
  /** Standard 5-field cron. */
  readonly schedule: string;
  readonly timezone?: string;
  readonly concurrencyPolicy?: "Allow" | "Forbid" | "Replace";
  readonly startingDeadlineSeconds?: number;
  readonly successfulJobsHistoryLimit?: number;
  readonly failedJobsHistoryLimit?: number;
  readonly suspend?: boolean;
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
  /** Run on a schedule. */
  readonly cron?: CronConfig;
  /** Emit a reusable template (Argo `WorkflowTemplate`) instead of a run. */
  readonly reusable?: boolean;
  /** At most this many steps at once. */
  readonly parallelism?: number;
  /** When to delete finished pods. */
  readonly podGC?: "OnPodCompletion" | "OnPodSuccess" | "OnWorkflowCompletion" | "OnWorkflowSuccess";
  readonly volumes?: readonly WorkflowVolume[];
  readonly nodeSelector?: Readonly<Record<string, string>>;
  /** Default machine labels for every step (GitHub Actions `runs-on`). */
  readonly runsOn?: readonly string[];
  readonly tolerations?: readonly Toleration[];
  readonly affinity?: KubeObject;
  readonly imagePullSecrets?: readonly string[];
  readonly dnsPolicy?: "ClusterFirst" | "ClusterFirstWithHostNet" | "Default" | "None";
  readonly dnsConfig?: KubeObject;
  /** Pod-level security context for every step. */
  readonly securityContext?: KubeObject;
}

/** A secret the workflow declares (`createSecret`). Only key names: values never enter the IR. */
export interface SecretDecl {
  readonly name: string;
  readonly keys: readonly string[];
  readonly loc: Loc;
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
  /**
   * Exit handler: steps run after the main graph finishes, whatever its outcome. Their
   * `when` conditions may read `{ kind: "workflow", field: "status" }`.
   */
  readonly onExit?: readonly Step[];
  readonly secrets?: readonly SecretDecl[];
}
