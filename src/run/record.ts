/**
 * The run record: what `couler run --json PATH` writes and what `runWorkflow` returns.
 * Plain JSON, steps in creation order, so two runs of the same workflow differ only in
 * times, outputs the steps themselves vary, and exit codes.
 */

/** A step's state in the record. A step that could not start or whose outputs were missing is `failed` with `errored: true`. */
export type StepStatus = "succeeded" | "failed" | "skipped" | "omitted";

/** How the workflow ended (the value exit handlers read as `workflow.status`). */
export type WorkflowStatus = "Succeeded" | "Failed" | "Error";

/** One execution of a step: the step itself, or one item of a `map`. */
export interface RunOfStep {
  readonly status: StepStatus;
  /** The engine-level state: `errored` when the step could not run (not found, missing output file, cannot run locally). */
  readonly errored?: boolean;
  /** Attempts made (1 + retries); 0 when it never started. */
  readonly attempts: number;
  readonly startedAt?: string;
  readonly finishedAt?: string;
  /** Exit code of the last attempt; absent when it never ran or was killed by a signal. */
  readonly exitCode?: number;
  /** `result` (stdout without its final newline) and each declared output, secrets masked. */
  readonly outputs?: Readonly<Record<string, string>>;
  /** Why it failed, was skipped or omitted. */
  readonly message?: string;
  /** For a `while` step: each round's body steps. */
  readonly rounds?: readonly (readonly StepRecord[])[];
  /** Kept running in the background (`daemon`) until the main graph ended. */
  readonly daemon?: boolean;
}

/** One map item's run. */
export interface ItemRun extends RunOfStep {
  readonly index: number;
  /** The item as text (a JSON list for several zipped values). */
  readonly item: string;
}

export interface StepRecord extends RunOfStep {
  readonly name: string;
  readonly kind: string;
  /** Present for a step fanned out by `map`: each item's run, in item order. */
  readonly items?: readonly ItemRun[];
}

export interface RunRecord {
  readonly workflow: string;
  readonly status: WorkflowStatus;
  /** The main graph's status, before the exit handler ran (what `workflow.status` was). */
  readonly mainStatus: WorkflowStatus;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly params: Readonly<Record<string, string>>;
  /** Features local execution did not honour, as announced before the run. */
  readonly skippedFeatures: readonly string[];
  readonly steps: readonly StepRecord[];
  readonly onExit?: readonly StepRecord[];
  /** Set when the run was stopped (Ctrl-C, workflow timeout). */
  readonly interrupted?: string;
}
