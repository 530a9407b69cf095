/**
 * GitHub Actions backend: one workflow file, `.github/workflows/<name>.yml`, per IR workflow.
 *
 * Shape: one job per step. A pod step's job runs in a job `container:` (the step's image),
 * with a `run:` step that calls the user's command explicitly (a job container's entrypoint
 * never runs), then, when other jobs read them, a step that writes its outputs to
 * `$GITHUB_OUTPUT`, exposed as job `outputs`. Ordering is `needs` plus an `if:` that says
 * exactly which upstream results let the job start (see `jobIf`). Fan-out is a matrix;
 * fan-in goes through artifacts and a small collector job. Every user text is inert: see
 * expressions.ts and shell.ts. The README beside this file is the user-facing reference.
 */
import type { Backend, CompileContext, OutputFile } from "../backend.js";
import type { Capabilities } from "../../src/ir/features.js";
import { buildGraph, depAtoms, isPlainAnd, isPodStep, parentsOf, producersOf, refsOfStep, refsOfValue, topoOrder, valuesOfCondition } from "../../src/ir/graph.js";
import type { Condition, ContainerStep, Depends, Loc, Ref, ScriptStep, Step, Value, WorkflowIR } from "../../src/ir/types.js";
import { NameTable, type NameRule } from "../common/names.js";
import { toYaml } from "../common/yaml.js";
import { shortestCronGap } from "./cron.js";
import { caseless, property, stringLiteral, templateText, wrap } from "./expressions.js";
import { EMIT_HEX_FN, EMIT_OUTPUT_FN, heredocDelimiter, plainWord } from "./shell.js";

/** Actions the generated workflows use, pinned to a major version. */
export const ACTIONS = {
  upload: "actions/upload-artifact@v4",
  download: "actions/download-artifact@v4",
  script: "actions/github-script@v7",
  cacheRestore: "actions/cache/restore@v4",
  cacheSave: "actions/cache/save@v4",
} as const;

const KUBE_ONLY = "it is a Kubernetes scheduling setting and GitHub Actions jobs run on runners chosen by label: pick the runner with --github-runs-on";

const capabilities: Capabilities = {
  "container-step": "yes",
  "script-step": "yes",
  "resource-step": { unsupported: "GitHub Actions has no Kubernetes API: run kubectl in a container step with your cluster's credentials as secrets" },
  "template-ref-step": {
    unsupported: "it calls a template installed in an Argo cluster; on GitHub, call a reusable workflow from a workflow of your own (jobs.<id>.uses)",
  },
  "while-loop": { unsupported: "GitHub Actions jobs form a fixed graph with no loops or recursion: loop inside one step's command instead" },
  param: "yes",
  "step-result": "yes",
  "output-parameter": "yes",
  "resource-output": { unsupported: "GitHub Actions has no Kubernetes resource steps" },
  env: "yes",
  "secret-env": "yes",
  "secret-namespace": { warn: "GitHub secrets have no namespace: the namespace is ignored and the repository secret is used" },
  "declared-secret": {
    warn: "a workflow cannot create GitHub secrets: store each key as a repository secret named <SECRET>_<KEY> (upper case, see backends/github/README.md); the values in the workflow program are not used",
  },
  resources: "yes",
  "step-timeout": "yes",
  retry: {
    warn: "GitHub Actions has no job retries: the run step re-runs the command in a loop (with the backoff) inside the same job container, not on a fresh runner",
  },
  "retry-backoff": "yes",
  "image-pull-policy": "yes",
  "working-dir": "yes",
  "node-selector": { unsupported: KUBE_ONLY },
  "runs-on": "yes",
  "status-dependency": "yes",
  "depends-expression": "yes",
  condition: "yes",
  "loop-items": "yes",
  "loop-from": "yes",
  "loop-parallelism": "yes",
  "fan-in": "yes",
  "exit-handler": "yes",
  "workflow-status": "yes",
  "workflow-name": "yes",
  "artifact-passing": "yes",
  "output-artifact": "yes",
  "artifact-store": {
    unsupported: "GitHub Actions has no S3/GCS/OSS artifact store: copy the files in your command (aws s3 cp, gsutil, ossutil) with credentials from secrets",
  },
  "artifact-git": { unsupported: "fetch the repository in your command (git clone) or use actions/checkout in a workflow of your own" },
  "artifact-http": { unsupported: "fetch the file in your command (curl, wget)" },
  volume: { unsupported: "GitHub Actions jobs run on separate runners that share no volumes: pass files between steps as artifacts" },
  "volume-mount": { unsupported: "GitHub Actions jobs run on separate runners that share no volumes: pass files between steps as artifacts" },
  tolerations: { unsupported: KUBE_ONLY },
  affinity: { unsupported: KUBE_ONLY },
  "security-context": { unsupported: "a job container takes docker options, not a Kubernetes security context: run as the image's user, or change the image" },
  sidecar: {
    unsupported: "GitHub service containers (services:) cannot take a command, do not share the step's volume mounts and are reached by host name, not localhost",
  },
  daemon: { unsupported: "a GitHub job cannot keep running in the background while later jobs run: start the server inside the step that uses it" },
  cache: {
    warn: "memoized through actions/cache: entries are scoped to the branch (plus the default branch), are evicted after 7 days unused, and a hit still starts the job container",
  },
  cron: "yes",
  "reusable-template": "yes",
  parallelism: { warn: "GitHub Actions has no workflow-wide limit on running jobs (only the account's concurrency limit); map parallelism is kept as max-parallel" },
  "pod-gc": { warn: "GitHub removes every job container when its job ends, whatever podGC says" },
  "image-pull-secrets": {
    unsupported: "a job container takes registry credentials (container.credentials) from repository secrets, not Kubernetes pull secrets",
  },
  dns: { unsupported: "GitHub-hosted runners have no per-job DNS configuration" },
  "workflow-timeout": {
    warn: "GitHub Actions has no deadline for a whole run: every job's timeout-minutes is capped at the workflow timeout, so the run as a whole may take longer",
  },
  "time-to-clean": { warn: "GitHub keeps runs, logs and artifacts for the repository's retention period: the time to clean is not written" },
  "service-account": { warn: "GitHub jobs run with the GITHUB_TOKEN's permissions (--github-permissions), not a service account: it is not written" },
  namespace: { warn: "GitHub Actions has no namespaces: the namespace is not written" },
  labels: { warn: "GitHub workflows have no labels: they are not written" },
  annotations: { warn: "GitHub workflows have no annotations: they are not written" },
};

const IDENT = /^[_a-zA-Z][a-zA-Z0-9_-]*$/;

/** GitHub job ids and output names: `^[_a-zA-Z][a-zA-Z0-9_-]*$`. */
const JOB_ID: NameRule = {
  what: "job id",
  target: "github",
  valid: IDENT,
  maxLength: 100,
  fix: (n) => {
    const s = n.replace(/[^a-zA-Z0-9_-]+/g, "_");
    return /^[_a-zA-Z]/.test(s) ? s : `_${s}`;
  },
};
const OUTPUT_NAME: NameRule = { ...JOB_ID, what: "job output name" };
/** Artifact names and folder names we derive from them: plain words only. */
const ARTIFACT_KEY: NameRule = { ...JOB_ID, what: "artifact name", valid: /^[a-zA-Z0-9_-]+$/, fix: (n) => n.replace(/[^a-zA-Z0-9_-]+/g, "_") };

const PERMISSION_SCOPES = [
  "actions", "attestations", "checks", "contents", "deployments", "discussions", "id-token", "issues", "models", "packages", "pages",
  "pull-requests", "repository-projects", "security-events", "statuses",
];

const MAX_MATRIX = 256;
const MAX_FILE_BYTES = 512 * 1024;
/** GitHub refuses a string holding `${{` whose expression (a `format(...)` of its parts) is longer. */
const MAX_EXPRESSION = 21000;

/**
 * The length of the expression GitHub makes of a string holding `${{`: literal parts with
 * `'`, `{` and `}` doubled inside `format('...')`, plus each expression.
 */
export function expressionLength(s: string): number {
  let n = "format('')".length;
  let i = 0;
  for (;;) {
    const start = s.indexOf("${{", i);
    const lit = s.slice(i, start < 0 ? s.length : start);
    n += lit.length + (lit.match(/['{}]/g)?.length ?? 0);
    if (start < 0) return n;
    let j = start + 3;
    let quoted = false;
    for (; j < s.length; j++) {
      if (s[j] === "'") quoted = !quoted;
      else if (!quoted && s[j] === "}" && s[j - 1] === "}") break;
    }
    n += j - 1 - (start + 3) + 5;
    i = j + 1;
  }
}

type Json = Record<string, unknown>;
type PodStep = ContainerStep | ScriptStep;

/**
 * The GitHub secret name for key `key` of secret `secret`: both joined by `_`, upper case,
 * anything but letters, digits and `_` replaced by `_`; `_` in front when the result would
 * start with a digit or `GITHUB_` (names GitHub refuses).
 * ```ts
 * githubSecretName("db-credentials", "password") // "DB_CREDENTIALS_PASSWORD"
 * ```
 */
export function githubSecretName(secret: string, key: string): string {
  const n = `${secret}_${key}`.toUpperCase().replace(/[^A-Z0-9_]/g, "_");
  return /^[0-9]/.test(n) || n.startsWith("GITHUB_") ? `_${n}` : n;
}

/** Kubernetes CPU quantity → docker `--cpus` value, or undefined when unreadable. */
function dockerCpus(q: string): string | undefined {
  const m = /^(\d+(?:\.\d+)?)(m?)$/.exec(q);
  if (!m) return undefined;
  const v = m[2] === "m" ? Number(m[1]) / 1000 : Number(m[1]);
  return v > 0 ? String(Number(v.toFixed(3))) : undefined;
}

/** Kubernetes memory quantity → bytes for docker `--memory`, or undefined when unreadable. */
function dockerBytes(q: string): string | undefined {
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|K|M|G|T)?$/.exec(q);
  if (!m) return undefined;
  const unit: Record<string, number> = { "": 1, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4, k: 1e3, K: 1e3, M: 1e6, G: 1e9, T: 1e12 };
  const v = Math.ceil(Number(m[1]) * unit[m[2] ?? ""]!);
  return v > 0 ? String(v) : undefined;
}

interface JobPlan {
  readonly step: Step;
  readonly id: string;
  readonly scope: "main" | "onExit";
  /** Output name → job output key (`result` for stdout). */
  readonly keys: Map<string, string>;
  /** The fan-in collector job, for a fanned-out step whose outputs are read. */
  collector?: string;
}

class GithubCompiler {
  private readonly ids: NameTable;
  private readonly plans = new Map<string, JobPlan>();
  private readonly mainNames: string[];
  /** How each main job decides to start (see `ordering`). */
  private readonly mode = new Map<string, "default" | "noFailure" | "explicit">();
  /**
   * `step\0output` (`step\0` for stdout) → the job output holding that value in hex, for
   * conditions that compare it: GitHub's `==` ignores case, hex digits have none to ignore.
   */
  private readonly hexKeys = new Map<string, string>();
  /** Job id → position in the file, so `needs` lists follow step order. */
  private readonly jobOrder = new Map<string, number>();
  /** Steps whose stdout some step reads. */
  private readonly resultRead = new Set<string>();
  /** Steps some step reads an output or result of. */
  private readonly outputsRead = new Set<string>();
  private readonly secretNames = new Map<string, string>();
  private readonly secretOwner = new Map<string, string>();
  private readonly scheduled: boolean;
  private readonly runsOn: string | string[];
  private readonly wfTimeoutMinutes: number | undefined;

  constructor(
    private readonly wf: WorkflowIR,
    private readonly ctx: CompileContext,
  ) {
    this.ids = new NameTable(JOB_ID, ctx.diagnostics);
    this.mainNames = wf.steps.map((s) => s.name);
    this.scheduled = wf.config.cron !== undefined && wf.config.cron.suspend !== true;
    // The workflow's own runsOn wins over the --github-runs-on default; a step's wins over both.
    const labels = wf.config.runsOn ?? (ctx.options["runs-on"] ?? "ubuntu-latest").split(",").map((l) => l.trim()).filter((l) => l !== "");
    this.runsOn = runnerValue(labels);
    this.wfTimeoutMinutes = wf.config.timeout !== undefined ? Math.ceil(wf.config.timeout / 60) : undefined;
  }

  private error(code: string, message: string, loc: Loc): void {
    this.ctx.diagnostics.error(code, `${message} (target github)`, loc);
  }
  private warn(code: string, message: string, loc: Loc): void {
    this.ctx.diagnostics.warning(code, `${message} (target github)`, loc);
  }

  compile(): OutputFile[] {
    const wf = this.wf;
    const all = [...wf.steps, ...(wf.onExit ?? [])];
    const mainSet = new Set<Step>(wf.steps);
    for (const s of all) {
      if (!isPodStep(s)) {
        this.error("unsupported", `step "${s.name}" is a ${s.kind} step, which GitHub Actions cannot run`, s.loc);
        continue;
      }
      const keys = new Map<string, string>();
      const table = new NameTable(OUTPUT_NAME, this.ctx.diagnostics);
      table.reserve("result", "the step's standard output (result)");
      for (const o of s.outputs ?? []) keys.set(o.name, table.add(o.name, o.loc));
      keys.set("", "result");
      this.plans.set(s.name, { step: s, id: this.ids.add(s.name, s.loc), scope: mainSet.has(s) ? "main" : "onExit", keys });
    }
    if (this.ctx.diagnostics.hasErrors) return [];
    for (const s of all) {
      for (const r of refsOfStep(s)) {
        if (r.kind === "result") this.resultRead.add(r.step);
        if (r.kind === "result" || r.kind === "output") this.outputsRead.add(r.step);
      }
    }
    for (const s of all) {
      const plan = this.plans.get(s.name)!;
      if (s.loop && this.outputsRead.has(s.name)) {
        const id = `${plan.id}-collect`;
        if (this.ids.has(id)) this.error("name-collision", `the fan-in job "${id}" for step "${s.name}" collides with a step's job id; rename that step`, s.loc);
        this.ids.reserve(id, `the fan-in job of "${s.name}"`);
        plan.collector = id;
      }
    }
    for (const s of all) {
      const p = this.plans.get(s.name)!;
      this.jobOrder.set(p.id, this.jobOrder.size);
      if (p.collector) this.jobOrder.set(p.collector, this.jobOrder.size);
    }
    if (this.ctx.options.compare === "exact") this.planHexOutputs(all);
    this.analyseMain();

    // The workflow's `name` takes no expressions either.
    const doc: Json = { name: wf.name.split("${{").join("$ {{") };
    doc.on = this.triggers();
    const permissions = this.permissions();
    if (permissions !== undefined) doc.permissions = permissions;
    const concurrency = this.concurrency();
    if (concurrency) doc.concurrency = concurrency;
    const jobs: Json = {};
    for (const s of all) {
      const plan = this.plans.get(s.name)!;
      jobs[plan.id] = this.job(plan);
      if (plan.collector) jobs[plan.collector] = this.collectorJob(plan);
    }
    doc.jobs = jobs;
    this.checkExpressions({ on: doc.on, concurrency: doc.concurrency, runsOn: this.runsOn }, `workflow "${wf.name}"`, wf.loc);
    const content = toYaml(doc);
    const bytes = Buffer.byteLength(content, "utf8");
    if (bytes > MAX_FILE_BYTES) {
      this.warn("too-large", `the workflow file is ${bytes} bytes; GitHub accepts workflow files up to 512 KB`, wf.loc);
    }
    const file = wf.name.replace(/[^A-Za-z0-9._-]+/g, "-").replace(/^[.-]+/, "") || "workflow";
    return [{ path: `.github/workflows/${file}.yml`, content }];
  }

  // ------------------------------------------------------------------ graph facts

  /**
   * Picks each main job's start rule. The IR's default edge accepts a parent that succeeded,
   * was skipped, or was omitted; only a failure blocks it. A failure that no step waits for
   * fails the run, and then which jobs still start is the engine's policy: here, none below
   * it (as in Argo's fail-fast), whenever that keeps the IR's meaning for handled failures.
   * - `explicit`: a job with status edges, or below a step whose failure some step waits for
   *   (other than its parent): each parent's `needs.<id>.result` is checked (`depExpr`).
   * - `noFailure`: only default edges, below a step that can end skipped or omitted:
   *   `!failure() && !cancelled()` (`failure()` is true when any ancestor job failed).
   * - `default`: nothing upstream can end skipped or omitted: GitHub's own `success()`.
   */
  private analyseMain(): void {
    const steps = this.wf.steps;
    const g = buildGraph(steps);
    const handled = new Set<string>();
    for (const s of steps) if (!isPlainAnd(s.depends)) for (const a of depAtoms(s.depends)) handled.add(a.step);
    const canSkip = new Set<string>();
    // Per step, only what the rules ask of its ancestors: which are handled, and whether any
    // can skip (whole ancestor sets would be quadratic in a long chain).
    const handledAnc = new Map<string, ReadonlySet<string>>();
    const skipAbove = new Set<string>();
    const none: ReadonlySet<string> = new Set();
    for (const name of topoOrder(steps, g)) {
      const s = g.byName.get(name)!;
      const parents = g.parents.get(name) ?? [];
      let hs: ReadonlySet<string> = none;
      let skips = false;
      for (const p of parents) {
        const above = handledAnc.get(p) ?? none;
        if (handled.has(p)) hs = new Set([...hs, p, ...above]);
        else if (hs === none) hs = above; // shared: these sets are never changed once stored
        else if (above.size) hs = new Set([...hs, ...above]);
        if (canSkip.has(p) || skipAbove.has(p)) skips = true;
      }
      handledAnc.set(name, hs);
      if (skips) skipAbove.add(name);
      const handledAbove = [...hs].some((a) => !parents.includes(a));
      const mode = !isPlainAnd(s.depends) || handledAbove ? "explicit" : skips ? "noFailure" : "default";
      this.mode.set(name, mode);
      if ((s.when && !this.itemCondition(s)) || s.loop?.kind === "from" || mode === "explicit") canSkip.add(name);
    }
  }

  /** A single result/output reference of a step that is not fanned out: its text can be compared exactly in hex. */
  private hexable(v: Value): Ref | undefined {
    if (typeof v === "string" || v.kind === "concat") return undefined;
    if (v.kind !== "result" && v.kind !== "output") return undefined;
    return this.plans.get(v.step)?.step.loop ? undefined : v;
  }

  private hexKeyOf(r: Ref): string | undefined {
    if (r.kind !== "result" && r.kind !== "output") return undefined;
    return this.hexKeys.get(`${r.step}\u0000${r.kind === "result" ? "" : r.output}`);
  }

  private planHexOutputs(all: readonly Step[]): void {
    const visit = (c: Condition | undefined): void => {
      if (!c) return;
      if (c.kind === "and" || c.kind === "or") c.of.forEach(visit);
      else if (c.kind === "not") visit(c.of);
      else if (c.op === "eq" || c.op === "ne") {
        const l = this.hexable(c.left);
        const r = this.hexable(c.right);
        const exact = (l && (r || typeof c.right === "string")) || (r && typeof c.left === "string");
        if (!exact) return;
        for (const ref of [l, r]) {
          if (!ref || (ref.kind !== "result" && ref.kind !== "output")) continue;
          const id = `${ref.step}\u0000${ref.kind === "result" ? "" : ref.output}`;
          if (this.hexKeys.has(id)) continue;
          const plan = this.plans.get(ref.step)!;
          const taken = new Set([...plan.keys.values(), ...[...this.hexKeys].filter(([k]) => k.startsWith(`${ref.step}\u0000`)).map(([, v]) => v)]);
          let key = `${plan.keys.get(ref.kind === "result" ? "" : ref.output)!}_hex`;
          while (taken.has(key)) key += "_";
          this.hexKeys.set(id, key);
        }
      }
    };
    for (const s of all) visit(s.when);
  }

  /** A `when` that reads the loop item cannot be a job-level `if:` (no matrix context there). */
  private itemCondition(s: Step): boolean {
    return valuesOfCondition(s.when).some((v) => refsOfValue(v).some((r) => r.kind === "item"));
  }

  // ------------------------------------------------------------------ workflow level

  private triggers(): Json {
    const wf = this.wf;
    const inputs: Json = {};
    for (const p of wf.params) {
      if (!IDENT.test(p.name)) {
        this.error("invalid-name", `parameter "${p.name}" is not a valid GitHub input id (letters, digits, _ and -, not starting with a digit or -)`, p.loc);
        continue;
      }
      const input: Json = {};
      // GitHub allows no expression at all in these two fields, so `${{` has no inert spelling there.
      if (p.description !== undefined) {
        if (p.description.includes("${{")) {
          this.warn("approximated", `parameter "${p.name}": its description contains "\${{", which GitHub refuses there; it is written as "$ {{"`, p.loc);
        }
        input.description = p.description.split("${{").join("$ {{");
      }
      input.type = "string";
      if (p.default !== undefined) {
        if (p.default.includes("${{")) {
          this.error("unsupported", `parameter "${p.name}": its default contains "\${{", which GitHub refuses in an input default (no expression and no escape is allowed there)`, p.loc);
        }
        input.default = p.default;
      } else input.required = true;
      if (this.scheduled && p.default === undefined) {
        this.error("missing-default", `parameter "${p.name}" has no default, and a scheduled run has no inputs: give it a default`, p.loc);
      }
      inputs[p.name] = input;
    }
    if (wf.params.length > 25) this.warn("too-many-inputs", `${wf.params.length} parameters; GitHub accepts at most 25 workflow_dispatch inputs`, wf.loc);
    const on: Json = {};
    on.workflow_dispatch = wf.params.length ? { inputs } : {};
    if (wf.config.reusable) {
      const call: Json = {};
      if (wf.params.length) call.inputs = inputs;
      const secrets: Json = {};
      for (const name of this.allSecretNames()) secrets[name] = { required: true };
      if (Object.keys(secrets).length) call.secrets = secrets;
      on.workflow_call = call;
    }
    const cron = wf.config.cron;
    if (cron) {
      const gap = shortestCronGap(cron.schedule);
      if (gap === undefined) this.error("invalid-cron", `cron schedule "${cron.schedule}" is not a 5-field cron line GitHub can read`, wf.loc);
      else if (gap < 5) this.error("cron-too-frequent", `cron schedule "${cron.schedule}" runs every ${gap} minute(s); GitHub runs schedules at most every 5 minutes`, wf.loc);
      if (cron.timezone !== undefined && !["UTC", "Etc/UTC", "Etc/GMT", "GMT", "Z"].includes(cron.timezone)) {
        this.warn("cron-timezone", `GitHub schedules are in UTC only: "${cron.schedule}" runs in UTC, not ${cron.timezone}; shift the hours yourself`, wf.loc);
      }
      if (cron.startingDeadlineSeconds !== undefined) this.warn("dropped", "GitHub has no starting deadline for scheduled runs (startingDeadlineSeconds is not written)", wf.loc);
      if (cron.successfulJobsHistoryLimit !== undefined || cron.failedJobsHistoryLimit !== undefined) {
        this.warn("dropped", "GitHub keeps run history for the repository's retention period (the history limits are not written)", wf.loc);
      }
      if (cron.suspend) this.warn("cron-suspended", "the schedule is suspended, so no schedule trigger is written (manual runs only)", wf.loc);
      else on.schedule = [{ cron: cron.schedule.trim() }];
    }
    return on;
  }

  private allSecretNames(): string[] {
    const names = new Set<string>();
    for (const s of [...this.wf.steps, ...(this.wf.onExit ?? [])]) {
      if (isPodStep(s)) for (const e of s.secretEnv ?? []) names.add(this.secretName(e.secret, e.key, s.loc));
    }
    return [...names].sort();
  }

  private secretName(secret: string, key: string, loc: Loc): string {
    const k = `${secret}\u0000${key}`;
    const have = this.secretNames.get(k);
    if (have !== undefined) return have;
    const n = githubSecretName(secret, key);
    const owner = this.secretOwner.get(n);
    if (owner !== undefined) this.error("name-collision", `secret "${secret}" key "${key}" and ${owner} both map to the GitHub secret ${n}; rename one`, loc);
    this.secretOwner.set(n, `secret "${secret}" key "${key}"`);
    this.secretNames.set(k, n);
    return n;
  }

  private permissions(): unknown {
    const raw = (this.ctx.options.permissions ?? "contents:read").trim();
    if (raw === "read-all" || raw === "write-all") return raw;
    if (raw === "none" || raw === "") return {};
    const out: Json = {};
    for (const part of raw.split(",")) {
      const m = /^\s*([a-z-]+)\s*:\s*(read|write|none)\s*$/.exec(part);
      if (!m || !PERMISSION_SCOPES.includes(m[1]!)) {
        this.error("invalid-option", `--github-permissions: "${part.trim()}" is not scope:read|write|none with a GitHub permission scope (${PERMISSION_SCOPES.join(", ")})`, this.wf.loc);
        continue;
      }
      out[m[1]!] = m[2];
    }
    return out;
  }

  private concurrency(): Json | undefined {
    const group = this.ctx.options.concurrency;
    const cancel = this.ctx.options["cancel-in-progress"] === "true";
    const policy = this.wf.config.cron?.concurrencyPolicy;
    if (group !== undefined && group !== "") {
      if (policy !== undefined && policy !== "Allow") {
        this.warn("overridden", `the concurrency option replaces the schedule's concurrencyPolicy ${policy}`, this.wf.loc);
      }
      return { group: templateText(group), "cancel-in-progress": cancel };
    }
    if (cancel) this.warn("ignored", "--github-cancel-in-progress true has no effect without --github-concurrency", this.wf.loc);
    if (policy === "Replace") return { group: wrap("github.workflow"), "cancel-in-progress": true };
    if (policy === "Forbid") {
      this.warn(
        "approximated",
        "concurrencyPolicy Forbid becomes a concurrency group: a new run waits for the running one (at most one waits) instead of being skipped",
        this.wf.loc,
      );
      return { group: wrap("github.workflow"), "cancel-in-progress": false };
    }
    return undefined;
  }

  // ------------------------------------------------------------------ values

  /** The expression for a reference, seen from `s`'s job. */
  private refExpr(r: Ref, s: Step): string {
    switch (r.kind) {
      case "param": {
        const p = this.wf.params.find((x) => x.name === r.name);
        const input = property("inputs", r.name);
        // A scheduled run has no inputs: it takes the default. toJSON keeps '' distinct from "absent".
        if (this.scheduled && p?.default !== undefined) {
          return `fromJSON(github.event_name == 'schedule' && ${stringLiteral(JSON.stringify(p.default))} || toJSON(${input}))`;
        }
        return input;
      }
      case "result":
      case "output": {
        const plan = this.plans.get(r.step)!;
        const key = plan.keys.get(r.kind === "result" ? "" : r.output)!;
        return property("needs", plan.collector ?? plan.id, "outputs", key);
      }
      case "item": {
        const loop = s.loop;
        if (!loop) {
          this.error("internal", `step "${s.name}" reads a loop item but has no loop`, s.loc);
          return "''";
        }
        if (loop.kind === "items") {
          if (r.field !== undefined) this.error("unsupported", `step "${s.name}" reads field "${r.field}" of a static item`, s.loc);
          return r.index !== undefined && (loop.items[0]?.length ?? 1) > 1 ? `matrix.item${r.index}` : "matrix.item";
        }
        return r.field !== undefined ? property("matrix", "item", r.field) : "matrix.item";
      }
      case "workflow":
        if (r.field === "name") return "format('{0}-{1}', github.workflow, github.run_id)";
        return this.statusExpr(s);
    }
  }

  /** The workflow's status as exit handlers see it: `Failed` when a main job failed or was cancelled, else `Succeeded`. */
  private statusExpr(s: Step): string {
    if (this.plans.get(s.name)!.scope !== "onExit") {
      this.error("unsupported", `step "${s.name}" reads the workflow status, which is only known in exit handlers`, s.loc);
      return "''";
    }
    const bad = this.mainNames.flatMap((n) => {
      const r = property("needs", this.plans.get(n)!.id, "result");
      return [`${r} == 'failure'`, `${r} == 'cancelled'`];
    });
    return bad.length ? `((${bad.join(" || ")}) && 'Failed' || 'Succeeded')` : "'Succeeded'";
  }

  /** A value as a template string (user text literal, references as `${{ }}`). */
  private template(v: Value, s: Step): string {
    const parts = typeof v === "string" ? [v] : v.kind === "concat" ? v.parts : [v];
    return parts.map((p) => (typeof p === "string" ? templateText(p) : wrap(this.refExpr(p, s)))).join("");
  }

  /** A value as one expression yielding its text. */
  private valueExpr(v: Value, s: Step): string {
    const parts = typeof v === "string" ? [v] : v.kind === "concat" ? v.parts : [v];
    const exprs = parts.map((p) => (typeof p === "string" ? stringLiteral(p) : this.refExpr(p, s)));
    if (exprs.length === 1) return exprs[0]!;
    return `format('${exprs.map((_, i) => `{${i}}`).join("")}', ${exprs.join(", ")})`;
  }

  private numberExpr(v: Value, s: Step): string {
    if (typeof v === "string" && /^-?\d+(\.\d+)?$/.test(v)) return v;
    return `fromJSON(${this.valueExpr(v, s)})`;
  }

  private conditionExpr(c: Condition, s: Step): string {
    switch (c.kind) {
      case "compare": {
        if (c.op === "eq" || c.op === "ne") {
          const op = c.op === "eq" ? "==" : "!=";
          const hexSide = (v: Value): string | undefined => {
            if (typeof v === "string") return stringLiteral(Buffer.from(v, "utf8").toString("hex"));
            const r = this.hexable(v);
            const key = r && this.hexKeyOf(r);
            if (!r || !key || (r.kind !== "result" && r.kind !== "output")) return undefined;
            const plan = this.plans.get(r.step)!;
            return property("needs", plan.id, "outputs", key);
          };
          const hl = hexSide(c.left);
          const hr = hexSide(c.right);
          if (hl && hr && !(typeof c.left === "string" && typeof c.right === "string")) return `${hl} ${op} ${hr}`;
          const runtime = (v: Value) => refsOfValue(v).some((r) => r.kind !== "workflow");
          const letterFree = (v: Value) => typeof v === "string" && caseless(v);
          if ((runtime(c.left) || runtime(c.right)) && !letterFree(c.left) && !letterFree(c.right)) {
            this.warn(
              "case-insensitive",
              `step "${s.name}": GitHub compares text ignoring case, so this condition treats e.g. "A" and "a" as equal`,
              s.loc,
            );
          }
          return `${this.valueExpr(c.left, s)} ${op} ${this.valueExpr(c.right, s)}`;
        }
        const op = { gt: ">", lt: "<", ge: ">=", le: "<=" }[c.op];
        return `${this.numberExpr(c.left, s)} ${op} ${this.numberExpr(c.right, s)}`;
      }
      case "and":
      case "or":
        return `(${c.of.map((x) => this.conditionExpr(x, s)).join(c.kind === "and" ? " && " : " || ")})`;
      case "not":
        return `!(${this.conditionExpr(c.of, s)})`;
    }
  }

  // ------------------------------------------------------------------ ordering

  /**
   * `needs` and `if:` for a job: the parents, the steps it reads, and the start rule chosen
   * by `analyseMain`. Exit-handler jobs need every main job and start with `always()`.
   */
  private ordering(plan: JobPlan): { needs: string[]; cond: string[] } {
    const s = plan.step;
    const needs = new Set<string>();
    const cond: string[] = [];
    for (const p of parentsOf(s)) needs.add(p);
    for (const p of producersOf(s)) needs.add(p);
    const jobNeeds = new Set<string>();
    for (const name of needs) {
      const p = this.plans.get(name)!;
      const readsOutputs = refsOfStep(s).some((r) => (r.kind === "result" || r.kind === "output") && r.step === name);
      jobNeeds.add(readsOutputs && p.collector ? p.collector : p.id);
      // a consumer of a collector still checks the producer's own result
      if (p.collector) jobNeeds.add(p.id);
    }
    const when = s.when && !this.itemCondition(s) ? this.conditionExpr(s.when, s) : undefined;
    const guard = s.loop?.kind === "from" ? `toJSON(fromJSON(${this.refExpr(s.loop.source, s)})) != '[]'` : undefined;
    if (plan.scope === "onExit") {
      for (const n of this.mainNames) jobNeeds.add(this.plans.get(n)!.id);
      cond.push("always()");
      if (s.depends) cond.push(this.depExpr(s.depends, s));
    } else {
      const mode = this.mode.get(s.name);
      if (mode === "explicit") {
        cond.push("!cancelled()");
        if (s.depends) cond.push(this.depExpr(s.depends, s));
      } else if (s.depends && (mode === "noFailure" || when !== undefined || guard !== undefined)) cond.push("!failure()", "!cancelled()");
      else if (when !== undefined || guard !== undefined) cond.push("!cancelled()");
    }
    if (when !== undefined) cond.push(when);
    if (guard !== undefined) cond.push(guard);
    return { needs: [...jobNeeds].sort((a, b) => this.jobOrder.get(a)! - this.jobOrder.get(b)!), cond };
  }

  private depExpr(d: Depends, s: Step): string {
    switch (d.kind) {
      case "on": {
        const p = this.plans.get(d.step)!;
        const r = property("needs", p.id, "result");
        const ok = `(${r} == 'success' || ${r} == 'skipped')`;
        const failed = `(${r} == 'failure' || ${r} == 'cancelled')`;
        switch (d.status) {
          case "ok":
            return ok;
          case "succeeded":
            return `${r} == 'success'`;
          case "failed":
            return failed;
          case "errored":
            this.warn("approximated", `step "${s.name}": GitHub has no separate "errored" state; ${d.step}.Errored is read as a failure`, s.loc);
            return failed;
          case "skipped":
          case "omitted":
            this.warn(
              "approximated",
              `step "${s.name}": GitHub reports both "skipped" and "omitted" as skipped; ${d.step}.${d.status === "skipped" ? "Skipped" : "Omitted"} matches either`,
              s.loc,
            );
            return `${r} == 'skipped'`;
          case "any":
            return "true";
          case "daemoned":
            this.error("unsupported", `step "${s.name}" waits for ${d.step}.Daemoned; GitHub Actions has no daemon steps`, s.loc);
            return "false";
          case "anySucceeded":
          case "allFailed":
            if (p.step.loop) {
              this.error(
                "unsupported",
                `step "${s.name}" waits for ${d.step}.${d.status === "anySucceeded" ? "AnySucceeded" : "AllFailed"}; a GitHub matrix job reports one result for all its instances`,
                s.loc,
              );
              return "false";
            }
            return d.status === "anySucceeded" ? `${r} == 'success'` : failed;
        }
        return "false";
      }
      case "not":
        return `!(${this.depExpr(d.of, s)})`;
      case "and":
      case "or":
        return `(${d.of.map((x) => this.depExpr(x, s)).join(d.kind === "and" ? " && " : " || ")})`;
    }
  }

  // ------------------------------------------------------------------ jobs

  private job(plan: JobPlan): Json {
    const s = plan.step as PodStep;
    const job: Json = {};
    if (plan.id !== s.name && !s.loop) job.name = templateText(s.name);
    const { needs, cond } = this.ordering(plan);
    if (needs.length) job.needs = needs;
    if (cond.length) job.if = wrap(cond.join(" && "));
    job["runs-on"] = s.runsOn ? runnerValue(s.runsOn) : this.runsOn;
    const minutes = this.timeoutMinutes(s);
    if (minutes !== undefined) job["timeout-minutes"] = minutes;
    if (s.loop) job.strategy = this.strategy(s);
    job.container = this.container(s);

    // Per-item conditions can only be steps' `if:` (a job's `if:` has no matrix context).
    const stepIf = s.when && this.itemCondition(s) ? wrap(this.conditionExpr(s.when, s)) : undefined;
    if (stepIf) {
      this.warn(
        "approximated",
        `step "${s.name}": a condition on the loop item is checked inside each matrix job, so an instance whose condition is false still starts and ends as succeeded, not skipped`,
        s.loc,
      );
    }
    const steps: Json[] = [];
    const itemCond = stepIf ? this.conditionExpr(s.when!, s) : undefined;
    const add = (st: Json, extra?: string) => {
      const c = [itemCond, extra].filter((x): x is string => x !== undefined);
      steps.push(c.length ? { if: wrap(c.join(" && ")), ...st } : st);
    };
    const captureResult = this.resultRead.has(s.name);
    const fanIn = !!plan.collector;
    const outputs: { key: string; path: string; hex?: string }[] = (s.outputs ?? []).map((o) => {
      const hex = this.hexKeys.get(`${s.name}\u0000${o.name}`);
      return { key: plan.keys.get(o.name)!, path: o.path ?? "", ...(hex ? { hex } : {}) };
    });
    if (captureResult) {
      const hex = this.hexKeys.get(`${s.name}\u0000`);
      outputs.unshift({ key: "result", path: "", ...(hex ? { hex } : {}) });
    }
    // Memoization: restore the step's outputs by key; on a hit the program does not run.
    const miss = s.cache ? "steps.cache.outputs.cache-hit != 'true'" : undefined;
    if (s.cache) for (const st of this.cacheRestoreSteps(s)) add(st);
    for (const st of this.inputArtifactSteps(s)) add(st, miss);
    add(this.runStep(s), miss);
    let read = outputs;
    if (s.cache) {
      const kept = this.cacheSaveSteps(s, outputs);
      add(kept[0]!, miss);
      add(kept[1]!, miss);
      read = outputs.map((o) => ({ ...o, path: `$RUNNER_TEMP/couler-cache/${o.key}` }));
    }
    if (outputs.length) {
      add(this.outputsStep(read, fanIn));
      if (fanIn) {
        add({
          name: "keep outputs for fan-in",
          uses: ACTIONS.upload,
          with: {
            name: `couler-fanin-${plan.id}-${wrap("strategy.job-index")}`,
            path: `${wrap("runner.temp")}/couler-fanin`,
            "if-no-files-found": "error",
            "retention-days": 1,
            overwrite: true,
          },
        });
      } else {
        const outs: Json = {};
        for (const o of outputs) {
          outs[o.key] = wrap(`steps.outputs.outputs.${o.key}`);
          if (o.hex) outs[o.hex] = wrap(`steps.outputs.outputs.${o.hex}`);
        }
        job.outputs = outs;
      }
    }
    for (const st of this.outputArtifactSteps(s, plan)) add(st);
    job.steps = steps;
    this.checkExpressions(job, `step "${s.name}"`, s.loc);
    return job;
  }

  /** Every string of `value` that GitHub turns into an expression must stay under its length cap. */
  private checkExpressions(value: unknown, where: string, loc: Loc): void {
    const walk = (v: unknown): void => {
      if (typeof v === "string") {
        if (v.includes("${{") && expressionLength(v) > MAX_EXPRESSION) {
          this.error(
            "too-long",
            `${where}: a value of ${v.length} characters holds \${{ and would become a GitHub expression longer than ${MAX_EXPRESSION} characters; shorten it or drop the \${{`,
            loc,
          );
        }
      } else if (Array.isArray(v)) v.forEach(walk);
      else if (v && typeof v === "object") Object.values(v).forEach(walk);
    };
    walk(value);
  }

  private timeoutMinutes(s: Step): number | undefined {
    let m: number | undefined;
    if (s.timeout !== undefined) {
      m = Math.ceil(s.timeout / 60);
      if (s.timeout % 60 !== 0) this.warn("approximated", `step "${s.name}": timeout ${s.timeout}s becomes timeout-minutes: ${m} (GitHub counts whole minutes)`, s.loc);
    }
    if (this.wfTimeoutMinutes !== undefined) m = m === undefined ? this.wfTimeoutMinutes : Math.min(m, this.wfTimeoutMinutes);
    if (s.timeout !== undefined && s.retry) {
      this.warn("approximated", `step "${s.name}": the retries run inside one job, so its timeout-minutes covers all attempts together, not each one`, s.loc);
    }
    return m;
  }

  private strategy(s: Step): Json {
    const loop = s.loop!;
    const st: Json = {};
    if (loop.kind === "items") {
      if (loop.items.length > MAX_MATRIX) {
        this.error("matrix-too-large", `step "${s.name}" fans out over ${loop.items.length} items; a GitHub matrix runs at most ${MAX_MATRIX} jobs`, s.loc);
      }
      const width = loop.items[0]?.length ?? 1;
      st.matrix =
        width === 1
          ? { item: loop.items.map((row) => templateText(row[0] ?? "")) }
          : { include: loop.items.map((row) => Object.fromEntries(row.map((v, i) => [`item${i}`, templateText(v)]))) };
    } else {
      st.matrix = { item: wrap(`fromJSON(${this.refExpr(loop.source, s)})`) };
    }
    st["fail-fast"] = false;
    if (loop.parallelism !== undefined) st["max-parallel"] = loop.parallelism;
    return st;
  }

  private container(s: PodStep): Json {
    const c: Json = { image: templateText(s.image) };
    const options: string[] = [];
    const r = s.resources;
    if (r?.limits) {
      for (const [k, q] of Object.entries(r.limits).sort(([a], [b]) => a.localeCompare(b))) {
        const v = k === "cpu" ? dockerCpus(q) : k === "memory" ? dockerBytes(q) : undefined;
        if (v === undefined) this.warn("dropped", `step "${s.name}": resource limit ${k}=${q} has no docker equivalent and is not written`, s.loc);
        else options.push(k === "cpu" ? `--cpus ${v}` : `--memory ${v}`);
      }
    }
    if (r?.requests && Object.keys(r.requests).length) {
      this.warn(
        "dropped",
        `step "${s.name}": resource requests (${Object.keys(r.requests).sort().join(", ")}) are not written: a GitHub runner has a fixed size; pick one with --github-runs-on`,
        s.loc,
      );
    }
    if (options.length) c.options = options.join(" ");
    if (s.imagePullPolicy === "Never") {
      this.warn("approximated", `step "${s.name}": GitHub always pulls a job container's image; imagePullPolicy Never is not honoured`, s.loc);
    }
    return c;
  }

  /** The step that runs the user's program. */
  private runStep(s: PodStep): Json {
    const env: Json = {};
    const owners = new Map<string, string>();
    const setEnv = (name: string, value: string, what: string) => {
      const clash = owners.get(name);
      if (clash !== undefined) this.error("name-collision", `step "${s.name}": env var ${name} is set by both ${clash} and ${what}`, s.loc);
      owners.set(name, what);
      env[name] = value;
    };
    for (const e of s.env ?? []) setEnv(e.name, this.template(e.value, s), "the step's env");
    for (const e of s.secretEnv ?? []) setEnv(e.name, wrap(property("secrets", this.secretName(e.secret, e.key, s.loc))), `secret "${e.secret}"`);

    const word = (v: Value | string, i: number | string, first: boolean): string => {
      if (typeof v === "string" && plainWord(v, first)) return v;
      const name = typeof i === "number" ? `COULER_ARG_${i}` : i;
      setEnv(name, typeof v === "string" ? templateText(v) : this.template(v, s), "the generated command line");
      return `"$${name}"`;
    };

    const capture = this.resultRead.has(s.name);
    const retry = s.retry;
    const command = s.command ?? [];
    if (s.kind === "container" && command.length === 0) {
      this.error(
        "missing-command",
        `step "${s.name}" has no command: a GitHub job container never runs the image's entrypoint, so give the command explicitly`,
        s.loc,
      );
    }
    // The plain form: the runner itself runs the source with the interpreter.
    const hasOpen = s.kind === "script" && s.source.includes("${{");
    if (s.kind === "script" && !hasOpen && !s.args?.length && !capture && !retry && s.workingDir === undefined && command.length > 0) {
      const words = command.filter((c): c is string => typeof c === "string");
      if (words.length === command.length && words.every((w, i) => plainWord(w, i === 0))) {
        const shell = words.length === 1 && words[0] === "python" ? "python" : `${words.join(" ")} {0}`;
        const st: Json = { id: "run", name: templateText(s.name) };
        if (Object.keys(env).length) st.env = env;
        st.shell = shell;
        st.run = templateText(s.source);
        return st;
      }
    }

    const lines: string[] = [];
    if (s.workingDir !== undefined) {
      const w = word(s.workingDir, "COULER_WORKDIR", false);
      lines.push(`mkdir -p ${w}`, `cd ${w}`);
    }
    const argv: string[] = [];
    command.forEach((c, i) => argv.push(word(c, i, i === 0)));
    if (s.kind === "script") {
      if (hasOpen) {
        // A run text holding `${{` becomes one GitHub expression, capped at 21000 characters;
        // base64 text holds no `$`, so the source travels encoded (the delimiter has `_`, which base64 never uses).
        const b64 = Buffer.from(s.source, "utf8").toString("base64").match(/.{1,76}/g) ?? [];
        lines.push(`base64 -d > "$RUNNER_TEMP/couler-script" <<'COULER_SCRIPT_EOF'`, ...b64, "COULER_SCRIPT_EOF");
      } else {
        const delim = heredocDelimiter(s.source);
        lines.push(`cat > "$RUNNER_TEMP/couler-script" <<'${delim}'`, ...s.source.replace(/\n$/, "").split("\n"), delim);
      }
      argv.push('"$RUNNER_TEMP/couler-script"');
    }
    (s.args ?? []).forEach((a, i) => argv.push(word(a, command.length + i + (s.kind === "script" ? 1 : 0), argv.length === 0)));
    const invocation = argv.join(" ");
    if (!capture && !retry) lines.push(invocation);
    else {
      lines.push("couler_main() {", `  ${invocation}`, "}");
      let attempt = "couler_main";
      if (capture) {
        attempt = "couler_attempt";
        lines.push(
          "couler_attempt() {",
          '  rm -f "$RUNNER_TEMP/couler-rc"',
          '  { couler_main || echo "$?" > "$RUNNER_TEMP/couler-rc"; } | tee "$RUNNER_TEMP/couler-stdout"',
          '  if [ -f "$RUNNER_TEMP/couler-rc" ]; then return "$(cat "$RUNNER_TEMP/couler-rc")"; fi',
          "}",
        );
      }
      if (retry) {
        const b = retry.backoff;
        if (b?.factor !== undefined && !Number.isInteger(b.factor)) {
          this.error("unsupported", `step "${s.name}": retry backoff factor ${b.factor} is not a whole number, which the emulated retry loop needs`, s.loc);
        }
        const delay = b ? Math.ceil(b.duration) : 0;
        lines.push(
          "couler_try=0",
          `couler_delay=${delay}`,
          "while :; do",
          "  couler_rc=0",
          `  ${attempt} || couler_rc=$?`,
          '  if [ "$couler_rc" -eq 0 ]; then break; fi',
          "  couler_try=$((couler_try + 1))",
          `  if [ "$couler_try" -gt ${retry.limit} ]; then exit "$couler_rc"; fi`,
          `  echo "couler: attempt $couler_try of ${retry.limit + 1} failed with exit code $couler_rc; retrying in \${couler_delay}s" >&2`,
          '  sleep "$couler_delay"',
        );
        if (b?.factor !== undefined) lines.push(`  couler_delay=$((couler_delay * ${Math.round(b.factor)}))`);
        if (b?.maxDuration !== undefined) lines.push(`  if [ "$couler_delay" -gt ${Math.ceil(b.maxDuration)} ]; then couler_delay=${Math.ceil(b.maxDuration)}; fi`);
        lines.push("done");
      } else lines.push(attempt);
    }
    const st: Json = { id: "run", name: templateText(s.name) };
    if (Object.keys(env).length) st.env = sortEnv(env);
    st.shell = "sh";
    st.run = templateText(`${lines.join("\n")}\n`);
    return st;
  }

  /**
   * The cache key is hashed in the job (the key may hold commas or be long, which
   * actions/cache refuses), then the entry is restored into `$RUNNER_TEMP/couler-cache`.
   */
  private cacheRestoreSteps(s: PodStep): Json[] {
    const c = s.cache!;
    if (c.maxAge !== undefined) {
      this.warn("approximated", `step "${s.name}": actions/cache entries have no maximum age (GitHub evicts entries unused for 7 days); maxAge is not written`, s.loc);
    }
    if (s.outputArtifacts?.length) {
      this.error("unsupported", `step "${s.name}" is memoized and leaves output artifacts, which a cache hit would not produce`, s.loc);
    }
    const name = ARTIFACT_KEY.fix(c.name);
    return [
      {
        id: "cache-key",
        name: "cache key",
        env: { COULER_CACHE_KEY: this.template(c.key, s) },
        shell: "sh",
        run: `printf 'hash=%s\\n' "$(printf '%s' "$COULER_CACHE_KEY" | sha256sum | cut -d ' ' -f 1)" >> "$GITHUB_OUTPUT"\n`,
      },
      {
        id: "cache",
        name: "restore cached outputs",
        uses: ACTIONS.cacheRestore,
        with: { path: `${wrap("runner.temp")}/couler-cache`, key: `couler-${name}-${wrap("steps.cache-key.outputs.hash")}` },
      },
    ];
  }

  private cacheSaveSteps(s: PodStep, outputs: { key: string; path: string }[]): Json[] {
    const env: Json = {};
    const lines = ['mkdir -p "$RUNNER_TEMP/couler-cache"'];
    outputs.forEach((o, i) => {
      let file: string;
      if (o.path === "") file = '"$RUNNER_TEMP/couler-stdout"';
      else if (plainWord(o.path, false)) file = o.path;
      else {
        env[`COULER_OUTPUT_${i}`] = templateText(o.path);
        file = `"$COULER_OUTPUT_${i}"`;
      }
      lines.push(`cp ${file} "$RUNNER_TEMP/couler-cache/${o.key}"`);
    });
    if (outputs.length === 0) lines.push('touch "$RUNNER_TEMP/couler-cache/done"');
    const keep: Json = { name: "keep outputs for the cache" };
    if (Object.keys(env).length) keep.env = env;
    keep.shell = "sh";
    keep.run = `${lines.join("\n")}\n`;
    const name = ARTIFACT_KEY.fix(s.cache!.name);
    return [
      keep,
      {
        name: "save cached outputs",
        uses: ACTIONS.cacheSave,
        with: { path: `${wrap("runner.temp")}/couler-cache`, key: `couler-${name}-${wrap("steps.cache-key.outputs.hash")}` },
      },
    ];
  }

  /** Writes outputs to `$GITHUB_OUTPUT`, or, in a matrix job feeding a fan-in, to files for the collector. */
  private outputsStep(outputs: { key: string; path: string; hex?: string }[], fanIn: boolean): Json {
    const env: Json = {};
    const lines: string[] = [];
    if (fanIn) {
      env.COULER_INDEX = wrap("strategy.job-index");
      lines.push(
        "couler_output() {",
        '  if [ ! -f "$2" ]; then echo "couler: output $1: no file $2" >&2; exit 1; fi',
        '  mkdir -p "$RUNNER_TEMP/couler-fanin/$COULER_INDEX"',
        '  cp "$2" "$RUNNER_TEMP/couler-fanin/$COULER_INDEX/$1"',
        "}",
      );
    } else {
      lines.push(...EMIT_OUTPUT_FN);
      if (outputs.some((o) => o.hex)) lines.push(...EMIT_HEX_FN);
    }
    outputs.forEach((o, i) => {
      let file: string;
      if (o.path === "") file = '"$RUNNER_TEMP/couler-stdout"';
      else if (o.path.startsWith("$RUNNER_TEMP/")) file = `"${o.path}"`;
      else if (plainWord(o.path, false)) file = o.path;
      else {
        env[`COULER_OUTPUT_${i}`] = templateText(o.path);
        file = `"$COULER_OUTPUT_${i}"`;
      }
      lines.push(`couler_output ${o.key} ${file}`);
      if (o.hex && !fanIn) lines.push(`couler_hex ${o.hex} ${file}`);
    });
    const st: Json = { id: "outputs", name: "outputs" };
    if (Object.keys(env).length) st.env = env;
    st.shell = "sh";
    st.run = `${lines.join("\n")}\n`;
    return st;
  }

  /**
   * Artifacts travel as a tar file (GitHub's artifact zip loses file modes) plus a note of
   * whether the path was a file or a folder, so the reader can place it at its own path.
   */
  private outputArtifactSteps(s: PodStep, plan: JobPlan): Json[] {
    const out: Json[] = [];
    for (const a of s.outputArtifacts ?? []) {
      if (a.store) continue;
      if (s.loop) {
        this.error("unsupported", `step "${s.name}" is fanned out, so its artifact "${a.name}" would be written once per instance under one name`, a.loc);
        continue;
      }
      const key = this.artifactKey(a.name);
      const dir = `"$RUNNER_TEMP/couler-artifact/${key}"`;
      out.push({
        name: `pack artifact ${templateText(a.name)}`,
        env: { COULER_PATH: templateText(a.path) },
        shell: "sh",
        run: [
          `rm -rf ${dir}`,
          `mkdir -p ${dir}`,
          'if [ -d "$COULER_PATH" ]; then',
          `  echo dir > ${dir}/kind`,
          `  tar -cf ${dir}/payload.tar -C "$COULER_PATH" .`,
          'elif [ -e "$COULER_PATH" ]; then',
          `  echo file > ${dir}/kind`,
          `  tar -cf ${dir}/payload.tar -C "$(dirname "$COULER_PATH")" "$(basename "$COULER_PATH")"`,
          `  basename "$COULER_PATH" > ${dir}/name`,
          'else echo "couler: artifact path $COULER_PATH does not exist" >&2; exit 1',
          "fi",
          "",
        ].join("\n"),
      });
      out.push({
        name: `upload artifact ${templateText(a.name)}`,
        uses: ACTIONS.upload,
        with: { name: `${plan.id}.${key}`, path: `${wrap("runner.temp")}/couler-artifact/${key}`, "if-no-files-found": "error", overwrite: true },
      });
    }
    return out;
  }

  private inputArtifactSteps(s: PodStep): Json[] {
    const out: Json[] = [];
    (s.inputArtifacts ?? []).forEach((a, i) => {
      if (a.from.kind !== "step") return;
      const from = this.plans.get(a.from.step);
      if (!from) return;
      if (from.step.loop) {
        this.error("unsupported", `step "${s.name}" reads artifact "${a.from.artifact}" of fanned-out step "${a.from.step}"`, a.loc);
        return;
      }
      const key = this.artifactKey(a.from.artifact);
      const dir = `"$RUNNER_TEMP/couler-input/${i}"`;
      out.push({
        name: `download artifact ${templateText(a.name)}`,
        uses: ACTIONS.download,
        with: { name: `${from.id}.${key}`, path: `${wrap("runner.temp")}/couler-input/${i}` },
      });
      out.push({
        name: `place artifact ${templateText(a.name)}`,
        env: { COULER_PATH: templateText(a.path) },
        shell: "sh",
        run: [
          `if [ "$(cat ${dir}/kind)" = dir ]; then`,
          '  mkdir -p "$COULER_PATH"',
          `  tar -xf ${dir}/payload.tar -C "$COULER_PATH"`,
          "else",
          '  mkdir -p "$(dirname "$COULER_PATH")"',
          `  mkdir -p ${dir}/unpacked`,
          `  tar -xf ${dir}/payload.tar -C ${dir}/unpacked`,
          `  mv ${dir}/unpacked/"$(cat ${dir}/name)" "$COULER_PATH"`,
          "fi",
          "",
        ].join("\n"),
      });
    });
    return out;
  }

  private artifactKey(name: string): string {
    const m = ARTIFACT_KEY.valid.test(name) && name.length <= ARTIFACT_KEY.maxLength ? name : ARTIFACT_KEY.fix(name);
    return m;
  }

  /**
   * The fan-in job: downloads every instance's outputs and publishes each as a JSON list in
   * instance order. It runs on the runner itself with actions/github-script, so it needs no
   * JSON tool in any image.
   */
  private collectorJob(plan: JobPlan): Json {
    const s = plan.step as PodStep;
    const keys: string[] = [];
    if (this.resultRead.has(s.name)) keys.push("result");
    for (const o of s.outputs ?? []) keys.push(plan.keys.get(o.name)!);
    const outputs: Json = {};
    for (const k of keys) outputs[k] = wrap(`steps.collect.outputs.${k}`);
    const r = property("needs", plan.id, "result");
    return {
      needs: [plan.id],
      // an exit handler's fan-in still runs when the run was cancelled, like the handler itself
      if: wrap(`${plan.scope === "onExit" ? "always()" : "!cancelled()"} && ${r} == 'success'`),
      "runs-on": this.runsOn,
      outputs,
      steps: [
        {
          name: "download instance outputs",
          uses: ACTIONS.download,
          with: { pattern: `couler-fanin-${plan.id}-*`, path: `${wrap("runner.temp")}/couler-fanin`, "merge-multiple": true },
        },
        {
          id: "collect",
          name: "collect outputs",
          uses: ACTIONS.script,
          env: { COULER_DIR: `${wrap("runner.temp")}/couler-fanin`, COULER_KEYS: keys.join(" ") },
          with: {
            script: [
              "const fs = require('fs');",
              "const path = require('path');",
              "const dir = process.env.COULER_DIR;",
              "const instances = fs.existsSync(dir) ? fs.readdirSync(dir).filter((d) => /^[0-9]+$/.test(d)).sort((a, b) => a - b) : [];",
              "for (const key of process.env.COULER_KEYS.split(' ')) {",
              "  const values = [];",
              "  for (const i of instances) {",
              "    const file = path.join(dir, i, key);",
              "    if (fs.existsSync(file)) values.push(fs.readFileSync(file, 'utf8').replace(/\\n$/, ''));",
              "  }",
              "  core.setOutput(key, JSON.stringify(values));",
              "}",
              "",
            ].join("\n"),
          },
        },
      ],
    };
  }
}

/** User env first in IR order is kept; generated COULER_ vars go last, in index order. */
function sortEnv(env: Json): Json {
  const user = Object.keys(env).filter((k) => !k.startsWith("COULER_"));
  const gen = Object.keys(env)
    .filter((k) => k.startsWith("COULER_"))
    .sort((a, b) => Number(a.replace(/\D+/g, "")) - Number(b.replace(/\D+/g, "")) || a.localeCompare(b));
  return Object.fromEntries([...user, ...gen].map((k) => [k, env[k]]));
}

/** `runs-on` for a list of labels: a string for one, a list for several. */
function runnerValue(labels: readonly string[]): string | string[] {
  return labels.length === 1 ? templateText(labels[0]!) : labels.map(templateText);
}

export const githubBackend: Backend = {
  name: "github",
  description: "GitHub Actions: a workflow file (.github/workflows/<name>.yml), one job per step",
  capabilities,
  options: {
    "runs-on": { description: "runner label(s) for every job, comma-separated", default: "ubuntu-latest" },
    permissions: {
      description: "GITHUB_TOKEN permissions: scope:level pairs, comma-separated (e.g. contents:read,packages:write), or read-all, write-all, none",
      default: "contents:read",
    },
    concurrency: { description: "a concurrency group name (literal text) for the workflow's runs; empty: none" },
    "cancel-in-progress": { description: "with a concurrency group: cancel a running run when a new one starts", values: ["true", "false"], default: "false" },
    compare: {
      description:
        "text comparisons in conditions: text (GitHub's ==, which ignores case; a warning says so) or exact (outputs compared as hex, published by the producing job)",
      values: ["text", "exact"],
      default: "text",
    },
  },
  goldenVariants: [
    {
      name: "options",
      options: { "runs-on": "self-hosted,linux", permissions: "contents:read,packages:write", concurrency: "deploy", "cancel-in-progress": "true", compare: "exact" },
    },
  ],
  compile(wf: WorkflowIR, ctx: CompileContext): OutputFile[] {
    return new GithubCompiler(wf, ctx).compile();
  },
  joinForStdout(files: readonly OutputFile[]): string {
    return files.map((f) => `# ${f.path}\n${f.content}`).join("---\n");
  },
};
