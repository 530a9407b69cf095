/**
 * Workflow-level settings: triggers (`workflow_dispatch` inputs, `workflow_call`, schedule),
 * `GITHUB_TOKEN` permissions, and the concurrency group.
 */
import { shortestCronGap } from "./cron.js";
import { templateText, wrap } from "./expressions.js";
import type { Json, WorkflowHost } from "./host.js";
import { IDENT, PERMISSION_SCOPES } from "./names.js";

export function triggers(c: WorkflowHost): Json {
  const wf = c.wf;
  const inputs: Json = {};
  for (const p of wf.params) {
    if (!IDENT.test(p.name)) {
      c.error("invalid-name", `parameter "${p.name}" is not a valid GitHub input id (letters, digits, _ and -, not starting with a digit or -)`, p.loc);
      continue;
    }
    const input: Json = {};
    // GitHub allows no expression at all in these two fields, so `${{` has no inert spelling there.
    if (p.description !== undefined) {
      if (p.description.includes("${{")) {
        c.warn("approximated", `parameter "${p.name}": its description contains "\${{", which GitHub refuses there; it is written as "$ {{"`, p.loc);
      }
      input.description = p.description.split("${{").join("$ {{");
    }
    input.type = "string";
    if (p.default !== undefined) {
      if (p.default.includes("${{")) {
        c.error("unsupported", `parameter "${p.name}": its default contains "\${{", which GitHub refuses in an input default (no expression and no escape is allowed there)`, p.loc);
      }
      input.default = p.default;
    } else input.required = true;
    if (c.scheduled && p.default === undefined) {
      c.error("missing-default", `parameter "${p.name}" has no default, and a scheduled run has no inputs: give it a default`, p.loc);
    }
    inputs[p.name] = input;
  }
  if (wf.params.length > 25) c.warn("too-many-inputs", `${wf.params.length} parameters; GitHub accepts at most 25 workflow_dispatch inputs`, wf.loc);
  const on: Json = {};
  on.workflow_dispatch = wf.params.length ? { inputs } : {};
  if (wf.config.reusable) {
    const call: Json = {};
    if (wf.params.length) call.inputs = inputs;
    const secrets: Json = {};
    for (const name of c.allSecretNames()) secrets[name] = { required: true };
    if (Object.keys(secrets).length) call.secrets = secrets;
    on.workflow_call = call;
  }
  const cron = wf.config.cron;
  if (cron) {
    const gap = shortestCronGap(cron.schedule);
    if (gap === undefined) c.error("invalid-cron", `cron schedule "${cron.schedule}" is not a 5-field cron line GitHub can read`, wf.loc);
    else if (gap < 5) c.error("cron-too-frequent", `cron schedule "${cron.schedule}" runs every ${gap} minute(s); GitHub runs schedules at most every 5 minutes`, wf.loc);
    if (cron.timezone !== undefined && !["UTC", "Etc/UTC", "Etc/GMT", "GMT", "Z"].includes(cron.timezone)) {
      c.warn("cron-timezone", `GitHub schedules are in UTC only: "${cron.schedule}" runs in UTC, not ${cron.timezone}; shift the hours yourself`, wf.loc);
    }
    if (cron.startingDeadlineSeconds !== undefined) c.warn("dropped", "GitHub has no starting deadline for scheduled runs (startingDeadlineSeconds is not written)", wf.loc);
    if (cron.successfulJobsHistoryLimit !== undefined || cron.failedJobsHistoryLimit !== undefined) {
      c.warn("dropped", "GitHub keeps run history for the repository's retention period (the history limits are not written)", wf.loc);
    }
    if (cron.suspend) c.warn("cron-suspended", "the schedule is suspended, so no schedule trigger is written (manual runs only)", wf.loc);
    else on.schedule = [{ cron: cron.schedule.trim() }];
  }
  return on;
}

export function permissions(c: WorkflowHost): unknown {
  const raw = (c.ctx.options.permissions ?? "contents:read").trim();
  if (raw === "read-all" || raw === "write-all") return raw;
  if (raw === "none" || raw === "") return {};
  const out: Json = {};
  for (const part of raw.split(",")) {
    const m = /^\s*([a-z-]+)\s*:\s*(read|write|none)\s*$/.exec(part);
    if (!m || !PERMISSION_SCOPES.includes(m[1]!)) {
      c.error("invalid-option", `--github-permissions: "${part.trim()}" is not scope:read|write|none with a GitHub permission scope (${PERMISSION_SCOPES.join(", ")})`, c.wf.loc);
      continue;
    }
    out[m[1]!] = m[2];
  }
  return out;
}

export function concurrency(c: WorkflowHost): Json | undefined {
  const group = c.ctx.options.concurrency;
  const cancel = c.ctx.options["cancel-in-progress"] === "true";
  const policy = c.wf.config.cron?.concurrencyPolicy;
  if (group !== undefined && group !== "") {
    if (policy !== undefined && policy !== "Allow") {
      c.warn("overridden", `the concurrency option replaces the schedule's concurrencyPolicy ${policy}`, c.wf.loc);
    }
    return { group: templateText(group), "cancel-in-progress": cancel };
  }
  if (cancel) c.warn("ignored", "--github-cancel-in-progress true has no effect without --github-concurrency", c.wf.loc);
  if (policy === "Replace") return { group: wrap("github.workflow"), "cancel-in-progress": true };
  if (policy === "Forbid") {
    c.warn(
      "approximated",
      "concurrencyPolicy Forbid becomes a concurrency group: a new run waits for the running one (at most one waits) instead of being skipped",
      c.wf.loc,
    );
    return { group: wrap("github.workflow"), "cancel-in-progress": false };
  }
  return undefined;
}
