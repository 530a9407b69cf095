/** The replay's record of one Argo node, and what every part of the replay shares. */
import type { ReplayContext } from "../outcome.js";

export type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** wfv1.NodePhase values the replay produces. */
export type Phase = "Succeeded" | "Failed" | "Error" | "Skipped" | "Omitted";

export interface NodeRes {
  readonly phase: Phase;
  /** What the main container printed (also when Argo did not capture it as `outputs.result`). */
  readonly stdout?: string;
  /** `outputs.result` (only when captured, see pod.ts) and output parameters. */
  readonly outputs?: { readonly result?: string; readonly parameters: Readonly<Record<string, string>> };
  /** The expanded items of a withItems/withParam call, in item order. */
  readonly items?: readonly NodeRes[];
  /** A graph template's calls by name (the last node of each). */
  readonly calls?: ReadonlyMap<string, NodeRes>;
  /** The template that ran. */
  readonly template?: string;
  readonly message?: string;
}

export interface Engine {
  readonly templates: ReadonlyMap<string, Obj>;
  /** `workflow.*` keys (`workflow.parameters.x`, `workflow.name`, `workflow.status` in the exit handler). */
  readonly globals: Map<string, string>;
  readonly ctx: ReplayContext;
  /** Seconds on the replay's clock: real process time plus backoff waits that were not slept. */
  now(): number;
  wait(seconds: number): void;
}

export const completed = (p: Phase) => p === "Succeeded" || p === "Failed" || p === "Error";
export const failedOrError = (p: Phase) => p === "Failed" || p === "Error";
