/**
 * Names in a KFP pipeline spec. Task names become Argo task and template names on the KFP
 * backend (backend/src/v2/compiler/argocompiler/dag.go), so they follow DNS-1123 label rules;
 * we also forbid `--`, which keeps the names this backend derives (`comp-<task>--loop`,
 * `pipelinechannel--<task>--<output>`) apart from every step's own.
 */
import type { NameRule } from "../common/names.js";
import type { Ref } from "../../src/ir/types.js";

export const TASK_NAME: NameRule = {
  what: "task name",
  target: "kfp",
  valid: /^[a-z](?:[a-z0-9]|-(?=[a-z0-9]))*$/,
  maxLength: 50,
  fix: (n) => {
    const s = n.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "");
    return /^[a-z]/.test(s) ? s : `s-${s}`;
  },
};

export const PIPELINE_NAME: NameRule = { ...TASK_NAME, what: "pipeline name", maxLength: 128 };

/** The executor's stdout output parameter (the SDK's name for a component's single return value). */
export const STDOUT_OUTPUT = "Output";

/** The exit handler's parts: the DAG task holding the main graph, and the task holding the exit steps. */
export const EXIT_MAIN_TASK = "exit-handler-1";
export const EXIT_STEPS_TASK = "exit-handler-steps";
/** The exit steps' input carrying the main DAG's PipelineTaskFinalStatus. */
export const STATUS_KEY = "status";

export const componentName = (task: string) => `comp-${task}`;
export const executorLabel = (task: string) => `exec-${task}`;
export const loopComponent = (task: string) => `comp-${task}--loop`;
export const conditionComponent = (task: string) => `comp-${task}--condition`;

/**
 * The input key a reference travels under (the SDK's "pipeline channel" names). Item refs are
 * numbered per step (`n`) because object keys may hold any text.
 */
export function channelKey(r: Ref, task: (step: string) => string, outputKey: (step: string, output: string) => string, itemIndex?: number): string {
  switch (r.kind) {
    case "param":
      return `pipelinechannel--${r.name}`;
    case "result":
      return `pipelinechannel--${task(r.step)}-${STDOUT_OUTPUT}`;
    case "output":
      return `pipelinechannel--${task(r.step)}--${outputKey(r.step, r.output)}`;
    case "item":
      return itemIndex === undefined ? "pipelinechannel--loop-item" : `pipelinechannel--loop-item-${itemIndex}`;
    case "workflow":
      return r.field === "status" ? STATUS_KEY : "couler--workflow-name";
  }
}
