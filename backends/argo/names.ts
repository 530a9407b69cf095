/** Argo's naming rules for tasks, steps, templates and the workflow itself. */
import type { NameRule } from "../common/names.js";

/**
 * Argo names tasks and steps with `[a-zA-Z0-9][-a-zA-Z0-9]*`, at most 63 characters, and a
 * DAG task name may not begin with a digit. Template names also end up in pod names, so
 * we keep those lower-case.
 */
export const TASK_NAME: NameRule = {
  what: "task/step name",
  target: "argo",
  valid: /^[a-zA-Z][-a-zA-Z0-9]*$/,
  maxLength: 63,
  fix: (n) => {
    const s = n.replace(/[^a-zA-Z0-9-]+/g, "-").replace(/-+/g, "-").replace(/^-+|-+$/g, "");
    return /^[a-zA-Z]/.test(s) ? s : `s-${s}`;
  },
};

export const TEMPLATE_NAME: NameRule = {
  ...TASK_NAME,
  what: "template name",
  valid: /^[a-z][-a-z0-9]*$/,
  fix: (n) => TASK_NAME.fix(n).toLowerCase(),
};

/** `metadata.name`/`generateName`: a DNS-1123 subdomain, leaving room for Argo's suffixes. */
export const WORKFLOW_NAME: NameRule = {
  what: "workflow name",
  target: "argo",
  valid: /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/,
  maxLength: 52,
  fix: (n) => n.toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/-+/g, "-").replace(/^-+|-+$/g, "") || "workflow",
};

