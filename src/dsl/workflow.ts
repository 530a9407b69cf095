/** `workflow()`, its configuration, parameters and the sequencing calls. */
import type { Diagnostic } from "../diagnostics.js";
import { and, producersOf } from "../ir/graph.js";
import {
  IR_VERSION,
  type CronConfig,
  type Depends,
  type KubeObject,
  type Step,
  type Toleration,
  type WorkflowConfig,
  type WorkflowIR,
} from "../ir/types.js";
import { validateWorkflow } from "../validate.js";
import { parseDependsText } from "./depends-text.js";
import { callerLoc } from "./location.js";
import { currentScope, on, runInScope, type StepDraft, WorkflowScope } from "./scope.js";
import { IDENT_RE, parseDuration, runnerLabels, type SecretSource, StepHandle, STEP_NAME_RE } from "./steps.js";
import { describe, handleNames, ValueRef } from "./values.js";
import { jsonObject, tolerationsOf } from "./kube.js";
import { suggest } from "../diagnostics.js";

export const WORKFLOW_BRAND: unique symbol = Symbol.for("couler.workflow") as never;

/** A built workflow: its IR, plus what was found wrong while building it. */
export interface Workflow {
  readonly [WORKFLOW_BRAND]: true;
  readonly name: string;
  readonly ir: WorkflowIR;
  /** Problems found while building and validating, located in the user's files. */
  readonly diagnostics: readonly Diagnostic[];
  /** Absolute folder of the file that called `workflow()`; IR locations are relative to it. */
  readonly baseDir: string;
  /** Values of secrets declared with createSecret(), by secret name. Never part of the IR. */
  readonly secretValues: ReadonlyMap<string, Readonly<Record<string, string>>>;
}

export function isWorkflow(x: unknown): x is Workflow {
  return typeof x === "object" && x !== null && (x as Record<symbol, unknown>)[WORKFLOW_BRAND] === true;
}

export interface WorkflowOptions {
  /** Whole-workflow deadline: seconds or a duration such as `"2h"`. */
  timeout?: number | string;
  /** How long to keep the finished workflow: seconds or a duration. */
  timeToClean?: number | string;
  serviceAccount?: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  /** Run on a schedule (Argo `CronWorkflow`). */
  cronConfig?: {
    schedule: string;
    timezone?: string;
    concurrencyPolicy?: "Allow" | "Forbid" | "Replace";
    startingDeadlineSeconds?: number;
    successfulJobsHistoryLimit?: number;
    failedJobsHistoryLimit?: number;
    suspend?: boolean;
  };
  /** Emit a reusable template (Argo `WorkflowTemplate`) instead of a workflow run. */
  reusable?: boolean;
  /** At most this many steps at once. */
  parallelism?: number;
  /** When to delete finished pods. */
  podGC?: "OnPodCompletion" | "OnPodSuccess" | "OnWorkflowCompletion" | "OnWorkflowSuccess";
  /** Defaults for every step's pod. */
  nodeSelector?: Record<string, string>;
  /** Default runner label(s) for every step (GitHub Actions `runs-on`). */
  runsOn?: string | string[];
  tolerations?: Toleration[];
  affinity?: KubeObject;
}

export interface ConfigOptions extends WorkflowOptions {
  name?: string;
}

const CONFIG_KEYS = [
  "name",
  "timeout",
  "timeToClean",
  "serviceAccount",
  "namespace",
  "labels",
  "annotations",
  "cronConfig",
  "reusable",
  "parallelism",
  "podGC",
  "nodeSelector",
  "runsOn",
  "tolerations",
  "affinity",
];
const CRON_KEYS = ["schedule", "timezone", "concurrencyPolicy", "startingDeadlineSeconds", "successfulJobsHistoryLimit", "failedJobsHistoryLimit", "suspend"];
const CRON_FIELD = /^(\*|\?|[0-9A-Za-z]+(-[0-9A-Za-z]+)?(,[0-9A-Za-z]+(-[0-9A-Za-z]+)?)*)(\/[0-9]+)?$/;

const LABEL_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Why `key` is not a Kubernetes label/annotation key (`[prefix/]name`), or undefined. */
export function kubeKeyProblem(key: string): string | undefined {
  const slash = key.lastIndexOf("/");
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined && (prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix))) return `the prefix ${JSON.stringify(prefix)} must be a DNS subdomain`;
  if (name.length === 0 || name.length > 63 || !LABEL_NAME.test(name)) {
    return "the name must be 1-63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit";
  }
  return undefined;
}

/** Why `v` is not a Kubernetes label value, or undefined. */
export function labelValueProblem(v: string): string | undefined {
  if (v === "" || (v.length <= 63 && LABEL_NAME.test(v))) return undefined;
  return `the value ${JSON.stringify(v.length > 70 ? `${v.slice(0, 70)}...` : v)} must be empty or 1-63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit`;
}

/** A reason the cron expression is invalid, or undefined. Five fields, or an @-macro. */
export function cronProblem(expr: string): string | undefined {
  if (/^@(yearly|annually|monthly|weekly|daily|midnight|hourly)$/.test(expr)) return undefined;
  if (/^@every \S+$/.test(expr)) return undefined;
  const fields = expr.trim().split(/\s+/);
  if (fields.length !== 5) return `expected 5 fields (minute hour day-of-month month day-of-week), got ${fields.length}`;
  const ranges: [number, number][] = [[0, 59], [0, 23], [1, 31], [1, 12], [0, 7]];
  for (const [i, f] of fields.entries()) {
    if (!CRON_FIELD.test(f)) return `field ${i + 1} ("${f}") is not a cron field`;
    for (const n of f.match(/\d+/g) ?? []) {
      const v = Number(n);
      if (f.includes("/") && f.endsWith(`/${n}`)) continue;
      if (v < ranges[i]![0] || v > ranges[i]![1]) return `field ${i + 1} ("${f}"): ${v} is outside ${ranges[i]![0]}-${ranges[i]![1]}`;
    }
  }
  return undefined;
}

/**
 * Build a workflow: runs `body`, collecting every DSL call made in it.
 * ```ts
 * export default workflow("hello", () => {
 *   runContainer({ image: "alpine:3.20", command: ["echo", "hello"] });
 * });
 * ```
 */
export function workflow(name: string, body: () => void, options: WorkflowOptions = {}): Workflow {
  const at = callerLoc();
  const scope = new WorkflowScope(String(name), at);
  if (typeof name !== "string" || name === "") {
    scope.diagnostics.error("invalid-name", `workflow(): the name must be a non-empty string, got ${describe(name)}`, scope.loc);
  }
  applyConfig(scope, options, "workflow", scope.loc);
  if (typeof body !== "function") {
    scope.diagnostics.error("invalid-option", `workflow(): the body must be a function, got ${describe(body)}`, scope.loc);
  } else {
    const ret = runInScope(scope, () => {
      const r = body() as unknown;
      scope.finish();
      return r;
    });
    if (ret && typeof (ret as Promise<unknown>).then === "function") {
      scope.diagnostics.error(
        "async-body",
        "workflow(): the body must be synchronous (it returned a Promise); DSL calls made after an await are lost",
        scope.loc,
      );
    }
  }
  // Frozen before validation, so what validation reads off the graph is shared with the backends.
  const ir = deepFreeze(buildIR(scope));
  // A workflow left empty by errors already reported needs no "has no steps" on top.
  const checks = validateWorkflow(ir).filter((d) => !(d.code === "empty-workflow" && scope.diagnostics.hasErrors));
  const diagnostics = [...scope.diagnostics.items, ...checks];
  const wf: Workflow = {
    [WORKFLOW_BRAND]: true,
    name: ir.name,
    ir,
    diagnostics: Object.freeze(diagnostics),
    baseDir: scope.baseDir,
    secretValues: scope.secretValues,
  };
  return Object.freeze(wf);
}

function applyConfig(scope: WorkflowScope, o: ConfigOptions, fn: string, loc = scope.here()): void {
  if (typeof o !== "object" || o === null) {
    scope.diagnostics.error("invalid-option", `${fn}(): options must be an object, got ${describe(o)}`, loc);
    return;
  }
  const err = (m: string) => scope.diagnostics.error("invalid-option", `${fn}(): ${m}`, loc);
  for (const k of Object.keys(o)) {
    if (!CONFIG_KEYS.includes(k) || (fn === "workflow" && k === "name")) {
      err(`unknown option "${k}"${suggest(k, CONFIG_KEYS)}`);
    }
  }
  const c = scope.config;
  if (o.name !== undefined) {
    if (typeof o.name !== "string" || o.name === "") err(`name must be a non-empty string`);
    else scope.name = o.name;
  }
  for (const k of ["timeout", "timeToClean"] as const) {
    if (o[k] === undefined) continue;
    const s = parseDuration(o[k]);
    if (s === undefined || (k === "timeout" && s <= 0)) err(`${k} must be seconds or a duration like "2h", got ${describe(o[k])}`);
    else c[k] = s;
  }
  for (const k of ["serviceAccount", "namespace"] as const) {
    if (o[k] === undefined) continue;
    if (typeof o[k] !== "string" || o[k] === "") err(`${k} must be a non-empty string, got ${describe(o[k])}`);
    else c[k] = o[k];
  }
  if (o.cronConfig !== undefined) {
    const cc = o.cronConfig;
    const before = scope.diagnostics.items.length;
    if (typeof cc !== "object" || cc === null || typeof cc.schedule !== "string") {
      err(`cronConfig must be { schedule, ... }, got ${describe(cc)}`);
    } else {
      for (const k of Object.keys(cc)) if (!CRON_KEYS.includes(k)) err(`unknown cronConfig option "${k}"${suggest(k, CRON_KEYS)}`);
      const problem = cronProblem(cc.schedule);
      if (problem) err(`invalid cron schedule ${JSON.stringify(cc.schedule)}: ${problem}`);
      if (cc.concurrencyPolicy !== undefined && !["Allow", "Forbid", "Replace"].includes(cc.concurrencyPolicy)) {
        err(`cronConfig.concurrencyPolicy must be "Allow", "Forbid" or "Replace", got ${describe(cc.concurrencyPolicy)}`);
      }
      for (const k of ["startingDeadlineSeconds", "successfulJobsHistoryLimit", "failedJobsHistoryLimit"] as const) {
        if (cc[k] !== undefined && (!Number.isInteger(cc[k]) || cc[k]! < 0)) err(`cronConfig.${k} must be a whole number >= 0, got ${describe(cc[k])}`);
      }
      const cron: Record<string, unknown> = {};
      for (const k of CRON_KEYS) if ((cc as Record<string, unknown>)[k] !== undefined) cron[k] = (cc as Record<string, unknown>)[k];
      // Only a fully valid schedule enters the IR; the errors above say what is wrong.
      if (scope.diagnostics.items.length === before) c.cron = cron as unknown as CronConfig;
    }
  }
  if (o.reusable !== undefined) {
    if (typeof o.reusable !== "boolean") err(`reusable must be true or false, got ${describe(o.reusable)}`);
    else if (o.reusable) c.reusable = true;
  }
  if (o.parallelism !== undefined) {
    if (!Number.isInteger(o.parallelism) || o.parallelism < 1) err(`parallelism must be a whole number >= 1, got ${describe(o.parallelism)}`);
    else c.parallelism = o.parallelism;
  }
  if (o.podGC !== undefined) {
    const allowed = ["OnPodCompletion", "OnPodSuccess", "OnWorkflowCompletion", "OnWorkflowSuccess"];
    if (!allowed.includes(o.podGC)) err(`podGC must be one of ${allowed.join(", ")}, got ${describe(o.podGC)}`);
    else c.podGC = o.podGC;
  }
  if (o.nodeSelector !== undefined) {
    const m = jsonObject(scope, fn, "nodeSelector", o.nodeSelector);
    if (Object.values(m).some((v) => typeof v !== "string")) err("nodeSelector values must be strings");
    else c.nodeSelector = m as Record<string, string>;
  }
  if (o.runsOn !== undefined) {
    const labels = runnerLabels(scope, fn, o.runsOn);
    if (labels) c.runsOn = labels;
  }
  if (o.tolerations !== undefined) c.tolerations = tolerationsOf(scope, fn, o.tolerations);
  if (o.affinity !== undefined) c.affinity = jsonObject(scope, fn, "affinity", o.affinity);
  for (const k of ["labels", "annotations"] as const) {
    const m = o[k];
    if (m === undefined) continue;
    if (typeof m !== "object" || m === null || Array.isArray(m)) {
      err(`${k} must be an object of strings, got ${describe(m)}`);
      continue;
    }
    const out: Record<string, string> = { ...(c[k] ?? {}) };
    for (const [key, v] of Object.entries(m)) {
      if (typeof v !== "string" && typeof v !== "number" && typeof v !== "boolean") {
        err(`${k}.${key} must be a string, got ${describe(v)}`);
        continue;
      }
      const problem = kubeKeyProblem(key) ?? (k === "labels" ? labelValueProblem(String(v)) : undefined);
      if (problem) err(`${k === "labels" ? "label" : "annotation"} ${JSON.stringify(key)}: ${problem}`);
      else out[key] = String(v);
    }
    c[k] = out;
  }
}

/**
 * Configure the workflow from inside its body (Couler's `config_workflow`).
 * ```ts
 * configWorkflow({ serviceAccount: "runner", timeout: "1h", labels: { team: "ml" } });
 * ```
 */
export function configWorkflow(options: ConfigOptions): void {
  const scope = currentScope("configWorkflow");
  applyConfig(scope, options, "configWorkflow");
}

/**
 * A workflow parameter, usable wherever a value goes.
 * ```ts
 * const day = param("day", { default: "2024-01-01" });
 * runContainer({ image: "alpine", args: [`--day=${day}`] });
 * ```
 */
export function param(name: string, opts: { default?: string | number | boolean; description?: string } = {}): ValueRef {
  const scope = currentScope("param");
  const loc = scope.here();
  if (typeof name !== "string" || !IDENT_RE.test(name)) {
    scope.diagnostics.error(
      "invalid-name",
      `param(): invalid parameter name ${describe(name)}: use letters, digits, "-" and "_", starting with a letter or "_"`,
      loc,
    );
  }
  const existing = scope.params.find((p) => p.name === name);
  if (existing) {
    scope.diagnostics.error("duplicate-param", `duplicate parameter "${name}" (first declared at ${existing.loc.line}:${existing.loc.col})`, loc);
  } else {
    const p: { name: string; loc: typeof loc; default?: string; description?: string } = { name: String(name), loc };
    if (opts.default !== undefined) {
      if (!["string", "number", "boolean"].includes(typeof opts.default)) {
        scope.diagnostics.error("invalid-option", `param(): default must be a string, number or boolean, got ${describe(opts.default)}`, loc);
      } else p.default = String(opts.default);
    }
    if (opts.description !== undefined) p.description = String(opts.description);
    scope.params.push(p);
  }
  return new ValueRef({ kind: "param", name: String(name) });
}

/**
 * Run branches in parallel; the next step waits for all of them.
 * ```ts
 * concurrent([() => runContainer({ image: "a" }), () => runContainer({ image: "b" })]);
 * ```
 */
export function concurrent(branches: readonly (() => unknown)[]): void {
  const scope = currentScope("concurrent");
  const loc = scope.here();
  if (!Array.isArray(branches) || branches.some((b) => typeof b !== "function")) {
    scope.diagnostics.error("invalid-option", `concurrent(): expects a list of functions, got ${describe(branches)}`, loc);
    return;
  }
  if (scope.dagDepth > 0 || scope.inSetDeps > 0) {
    scope.diagnostics.error("invalid-option", "concurrent() cannot be used inside dag() or setDependencies(): declare the edges instead", loc);
    return;
  }
  const ends: Depends[] = [];
  for (const b of branches) ends.push(...scope.branch(() => void b()));
  const seen = new Set<string>();
  scope.setFrontier(ends.filter((d) => {
    const k = JSON.stringify(d);
    return !seen.has(k) && seen.add(k);
  }));
}

/**
 * A DAG section in Couler's form: each chain `[X, Y, Z]` means Y runs after X and Z after
 * Y; calling a step with the same `stepName` again refers to the step already created.
 * ```ts
 * dag([[A], [A, B], [A, C], [B, D], [C, D]]);
 * ```
 */
export function dag(chains: readonly (readonly (() => unknown)[])[]): void {
  const scope = currentScope("dag");
  const loc = scope.here();
  if (!Array.isArray(chains) || chains.some((c) => !Array.isArray(c) || c.some((f) => typeof f !== "function"))) {
    scope.diagnostics.error("invalid-option", `dag(): expects a list of chains (lists of functions), got ${describe(chains)}`, loc);
    return;
  }
  if (scope.dagDepth > 0 || scope.inSetDeps > 0) {
    scope.diagnostics.error("invalid-option", "dag() cannot be nested in dag() or setDependencies()", loc);
    return;
  }
  scope.openSection("dag");
  scope.dagDepth++;
  try {
    for (const chain of chains) {
      let prev: string | undefined;
      for (const fn of chain) {
        scope.lastTouched = undefined;
        const r = fn();
        const name = r instanceof StepHandle ? r.name : scope.lastTouched;
        if (name === undefined) {
          scope.diagnostics.error("invalid-option", "dag(): a chain element created no step (it must call runContainer/runScript)", loc);
          prev = undefined;
          continue;
        }
        if (prev !== undefined && prev !== name) {
          const d = scope.byName.get(name);
          if (d && !d.deps.some((x) => x.kind === "on" && x.step === prev)) d.deps.push(on(prev));
        }
        prev = name;
      }
    }
  } finally {
    scope.dagDepth--;
  }
  scope.closeSection();
}

/**
 * Run what `fn` creates after `deps`: a list of step names (or handles), or Argo-style
 * text such as `"A.Failed || B"`. Consecutive calls form one DAG section.
 * ```ts
 * setDependencies(() => jobA(), []);
 * setDependencies(() => jobB(), ["A"]);
 * ```
 */
export function setDependencies(fn: () => unknown, deps: string | readonly (string | StepHandle)[] | null = []): void {
  const scope = currentScope("setDependencies");
  // Only a diagnostic needs the location, and it is still this call's when one is reported here.
  const loc = () => scope.here();
  if (typeof fn !== "function") {
    scope.diagnostics.error("invalid-option", `setDependencies(): the first argument must be a function, got ${describe(fn)}`, loc());
    return;
  }
  if (scope.dagDepth > 0 || scope.inSetDeps > 0) {
    scope.diagnostics.error("invalid-option", "setDependencies() cannot be nested in dag() or setDependencies()", loc());
    return;
  }
  let parsed: Depends[] = [];
  try {
    if (typeof deps === "string") parsed = [parseDependsText(handleNames(deps))];
    else if (Array.isArray(deps)) {
      parsed = deps.map((d) => (d instanceof StepHandle ? on(d.name) : parseDependsText(handleNames(String(d)))));
    } else if (deps !== null && deps !== undefined) throw new Error(`expected a list of step names or a string, got ${describe(deps)}`);
  } catch (e) {
    scope.diagnostics.error("invalid-depends", `setDependencies(): ${(e as Error).message}`, loc());
  }
  scope.openSection("setDependencies");
  scope.inSetDeps++;
  scope.setFrontier(parsed.length ? [and(parsed)!] : []);
  try {
    fn();
  } finally {
    scope.inSetDeps--;
  }
}

/**
 * Declare a secret with these values. The workflow refers to it by name like any existing
 * secret; its values never appear in a workflow manifest (a separate Secret document is
 * written only on request, e.g. `--argo-emit-secrets true`).
 * ```ts
 * const creds = createSecret({ user: "admin", password: process.env.DB_PASSWORD ?? "" }, { name: "db" });
 * runContainer({ image: "alpine", secret: creds });
 * ```
 */
export function createSecret(data: Record<string, string>, opts: { name: string }): SecretSource {
  const scope = currentScope("createSecret");
  const loc = scope.here();
  if (!opts || typeof opts.name !== "string" || !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(opts.name)) {
    scope.diagnostics.error("invalid-name", `createSecret(): { name } must be a Kubernetes object name, got ${describe(opts?.name)}`, loc);
  }
  if (typeof data !== "object" || data === null || Object.values(data).some((v) => typeof v !== "string")) {
    scope.diagnostics.error("invalid-option", "createSecret(): data must be an object of string values", loc);
    data = {};
  }
  const name = String(opts?.name ?? "");
  if (scope.secrets.some((s) => s.name === name)) scope.diagnostics.error("duplicate-secret", `createSecret(): secret "${name}" is already declared`, loc);
  const keys = Object.keys(data).sort();
  scope.secrets.push({ name, keys, loc });
  scope.secretValues.set(name, Object.freeze({ ...data }));
  return Object.freeze({ kind: "secret", name, keys: Object.freeze(Object.fromEntries(keys.map((k) => [k, k]))), loc });
}

/** Workflow states for exit handlers and status predicates (Couler's `WFStatus`). */
export const WFStatus = Object.freeze({
  Succeeded: "Succeeded",
  Failed: "Failed",
  Error: "Error",
  /** For setExitHandler: whatever the outcome. */
  Always: "always",
} as const);
export type WFStatus = (typeof WFStatus)[keyof typeof WFStatus];

// ---------------------------------------------------------------- IR

function buildIR(scope: WorkflowScope): WorkflowIR {
  const steps = buildList(scope.steps);
  const onExit = buildList(scope.onExit);
  const ir: WorkflowIR = {
    kind: "Workflow",
    irVersion: IR_VERSION,
    name: scope.name,
    source: scope.loc.file,
    loc: scope.loc,
    config: scope.config,
    params: scope.params,
    steps,
    ...(onExit.length ? { onExit } : {}),
    ...(scope.secrets.length ? { secrets: scope.secrets } : {}),
  };
  if (!STEP_NAME_RE.test(scope.name)) {
    scope.diagnostics.error(
      "invalid-name",
      `invalid workflow name ${JSON.stringify(scope.name)}: use letters, digits, "-" and "_", starting with a letter or digit`,
      scope.loc,
    );
  }
  return ir;
}

/** One graph's drafts → IR steps, with data edges made explicit. */
function buildList(drafts: readonly StepDraft[]): Step[] {
  const byName = new Map<string, Step>();
  const steps: Step[] = [];
  const parentsOf = new Map<string, Set<string>>();
  for (const d of drafts) {
    const depends = and(d.deps);
    // The draft's own object becomes the IR step: drafts are done with once the body has run.
    const base = d.step as Record<string, unknown>;
    if (d.body) base.body = buildList(d.body);
    if (depends) base.depends = depends;
    const step = base as unknown as Step;
    steps.push(step);
    if (!byName.has(step.name)) byName.set(step.name, step);
  }
  for (const s of byName.values()) {
    const ps = new Set<string>();
    collect(s.depends, ps);
    parentsOf.set(s.name, ps);
  }
  // Data edges imply ordering: a consumer waits for every producer it reads that is not
  // already upstream of it.
  for (let i = 0; i < steps.length; i++) {
    const s = steps[i]!;
    if (byName.get(s.name) !== s) continue;
    const extra = producersOf(s).filter((p) => p !== s.name && byName.has(p) && !isAncestor(p, s.name, parentsOf));
    if (extra.length) {
      const depends = and([...(s.depends ? [s.depends] : []), ...extra.map((p) => on(p))])!;
      const updated = { ...s, depends } as Step;
      steps[i] = updated;
      byName.set(s.name, updated);
      for (const p of extra) parentsOf.get(s.name)!.add(p);
    }
  }
  return steps;
}

function collect(d: Depends | undefined, out: Set<string>): void {
  if (!d) return;
  if (d.kind === "on") out.add(d.step);
  else if (d.kind === "not") collect(d.of, out);
  else for (const x of d.of) collect(x, out);
}

/** Is `a` upstream of `b`? Walks up from `b`; each call is bounded by the graph's size. */
function isAncestor(a: string, b: string, parents: Map<string, Set<string>>): boolean {
  const seen = new Set<string>([b]);
  const stack = [b];
  while (stack.length) {
    const n = stack.pop()!;
    for (const p of parents.get(n) ?? []) {
      if (p === a) return true;
      if (!seen.has(p)) {
        seen.add(p);
        stack.push(p);
      }
    }
  }
  return false;
}

function deepFreeze<T>(x: T): T {
  if (x && typeof x === "object" && !Object.isFrozen(x)) {
    Object.freeze(x);
    if (Array.isArray(x)) for (let i = 0; i < x.length; i++) deepFreeze(x[i]);
    else for (const k in x) if (Object.hasOwn(x, k)) deepFreeze((x as Record<string, unknown>)[k]);
  }
  return x;
}

export type { WorkflowConfig };
