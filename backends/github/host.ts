/**
 * What the parts of the GitHub backend share: the job plan of each step, and the compiler's
 * services (diagnostics, values as templates, secret names) that the step and artifact
 * builders use.
 */
import type { CompileContext } from "../backend.js";
import type { ContainerStep, Loc, ScriptStep, Step, Value, WorkflowIR } from "../../src/ir/types.js";

export type Json = Record<string, unknown>;
export type PodStep = ContainerStep | ScriptStep;

/** Actions the generated workflows use, pinned to a major version. */
export const ACTIONS = {
  upload: "actions/upload-artifact@v4",
  download: "actions/download-artifact@v4",
  script: "actions/github-script@v7",
  cacheRestore: "actions/cache/restore@v4",
  cacheSave: "actions/cache/save@v4",
} as const;

export interface JobPlan {
  readonly step: Step;
  readonly id: string;
  readonly scope: "main" | "onExit";
  /** Output name → job output key (`result` for stdout). */
  readonly keys: Map<string, string>;
  /** The fan-in collector job, for a fanned-out step whose outputs are read. */
  collector?: string;
}

export interface Host {
  error(code: string, message: string, loc: Loc): void;
  warn(code: string, message: string, loc: Loc): void;
  /** A value as a template string (user text literal, references as `${{ }}`), seen from `s`'s job. */
  template(v: Value, s: Step): string;
  /** The repository secret name for a key of a secret. */
  secretName(secret: string, key: string, loc: Loc): string;
  /** Steps whose stdout some step reads. */
  readonly resultRead: ReadonlySet<string>;
  readonly plans: ReadonlyMap<string, JobPlan>;
  /** The default `runs-on`. */
  readonly runsOn: string | string[];
}

/** What the workflow-level builders (triggers.ts) read. */
export interface WorkflowHost {
  readonly wf: WorkflowIR;
  readonly ctx: CompileContext;
  /** A schedule that is not suspended: runs without inputs. */
  readonly scheduled: boolean;
  error(code: string, message: string, loc: Loc): void;
  warn(code: string, message: string, loc: Loc): void;
  /** Every repository secret the workflow reads, sorted. */
  allSecretNames(): string[];
}
