/**
 * Tekton's name rules (pkg/apis/pipeline/v1 validation): pipeline task, Task, step and sidecar
 * names are DNS-1123 labels; results and params have their own character sets.
 */
import type { NameRule } from "../common/names.js";

export const dnsFix = (n: string) =>
  n
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/-+/g, "-")
    .replace(/^-+|-+$/g, "") || "x";

/** Pipeline task names and Task names: DNS-1123 labels (Tekton validates both). */
export const TASK_NAME: NameRule = {
  what: "pipeline task name",
  target: "tekton",
  valid: /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/,
  maxLength: 63,
  fix: dnsFix,
};

/** Leaves room for the 5 characters `generateName` adds, so run names stay labels. */
export const PIPELINE_NAME: NameRule = { ...TASK_NAME, what: "pipeline name", maxLength: 57 };
export const TASK_DOC_NAME: NameRule = { ...TASK_NAME, what: "Task name" };
/** Tekton prefixes step containers with `step-`. */
export const STEP_NAME: NameRule = { ...TASK_NAME, what: "step name", maxLength: 58 };
/** Tekton prefixes sidecar containers with `sidecar-`. */
export const SIDECAR_NAME: NameRule = { ...TASK_NAME, what: "sidecar name", maxLength: 55 };

export const RESULT_NAME: NameRule = {
  what: "result name",
  target: "tekton",
  valid: /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/,
  maxLength: 63,
  fix: (n) => n.replace(/[^-A-Za-z0-9_.]+/g, "-").replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, "") || "r",
};

export const PARAM_NAME = /^[A-Za-z_][-A-Za-z0-9_]*$/;
