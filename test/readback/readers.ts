/** One reader per backend: emitted files back to the neutral graph. */
import type { OutputFile } from "../../backends/backend.js";
import type { WorkflowIR } from "../../src/ir/types.js";
import { readArgo } from "./argo-reader.js";
import { readTekton } from "./tekton-reader.js";
import { readGithub } from "./github-reader.js";
import { readAirflowMany } from "./airflow-reader.js";
import { readKfp } from "./kfp-reader.js";
import type { CompareOptions, NGraph } from "./neutral-graph.js";

export type ReadResult = { readonly graph: NGraph } | { readonly error: string };

export interface Reader {
  readonly target: string;
  /** Read many outputs at once (readers that start a process batch them). */
  readMany(items: readonly { files: readonly OutputFile[]; ir: WorkflowIR }[]): Promise<ReadResult[]> | ReadResult[];
  readonly compare: CompareOptions;
  /** Differences that are reported backend bugs: a problem line containing `match` is a todo, named by `why`. */
  readonly knownBugs: readonly { readonly match: string; readonly why: string }[];
}

function sync(target: string, read: (files: readonly OutputFile[], ir: WorkflowIR) => NGraph, compare: CompareOptions, knownBugs: Reader["knownBugs"] = []): Reader {
  return {
    target,
    compare,
    knownBugs,
    readMany: (items) =>
      items.map(({ files, ir }) => {
        try {
          return { graph: read(files, ir) };
        } catch (e) {
          return { error: e instanceof Error ? e.message : String(e) };
        }
      }),
  };
}

/**
 * Airflow marks a task whose upstream failed `upstream_failed`, and its trigger rules count that
 * state as a failure: an "ok" edge (none_failed) is not met by such a parent, and a "failed" edge
 * (one_failed, all_failed) is. The IR calls that parent Omitted: "ok" is met, "failed" is not.
 */
const AIRFLOW_UPSTREAM_FAILED = [
  {
    match: "but U as read back",
    why: "airflow approximation, warned at compile time: a step after a parent that was omitted because a failure upstream of it was handled elsewhere does not run (none_failed is not met by upstream_failed), though the IR's 'ok' edge is met by an omitted parent; e.g. fixtures/mixed.ts: when build fails, audit never runs",
  },
  {
    match: "by the IR but S as read back",
    why: "airflow approximation, warned at compile time: a 'failed' edge (one_failed/all_failed) is met by a parent that was only omitted (upstream_failed), though the IR's 'failed' means the parent itself failed",
  },
];

export const READERS: readonly Reader[] = [
  sync("argo", readArgo, { conditionReads: true }),
  sync("tekton", readTekton, { conditionReads: true }),
  sync("github", readGithub, { conditionReads: true }),
  sync("kfp", readKfp, { conditionReads: true }),
  { target: "airflow", compare: { conditionReads: true }, knownBugs: AIRFLOW_UPSTREAM_FAILED, readMany: readAirflowMany },
];
