/**
 * The GitHub Actions replay: runs an emitted `.github/workflows/<name>.yml` the way GitHub
 * Actions does, one job at a time, and reports how it ended as a `RunOutcome`.
 *
 * Rules (each from GitHub's source or documentation):
 * - Jobs start once every job in their `needs` has finished; the `needs` context holds only the
 *   direct needs, each with `result` and `outputs` (docs "Contexts reference", needs context).
 * - A job's `if:` is evaluated by `@actions/expressions`; without a status function it is
 *   `success() && (...)` (actions/runner PipelineTemplateConverter.cs ConvertToIfCondition).
 *   Job-level status functions are evaluated by GitHub's service (not the runner); as
 *   documented ("Status check functions"): `success()` when every ancestor job succeeded,
 *   `failure()` when any ancestor job failed, `cancelled()` when the run was cancelled (never
 *   here), `always()` true. A job whose `if:` is false ends `skipped`, with no outputs.
 * - `strategy.matrix`: vectors are crossed; a matrix of only `include` has one instance per
 *   entry; `${{ }}` values are evaluated before expansion (a whole-value expression keeps its
 *   type, so `fromJSON(list)` is a list). `fail-fast` (default true) cancels the instances not
 *   yet finished when one fails; `max-parallel` only limits concurrency (instances run one at a
 *   time here). `strategy.job-index` is the instance's index. The matrix job's result is
 *   `failure` when an instance failed, and its outputs are the instances' outputs merged in the
 *   order they finished: the last non-empty value wins (docs "Defining outputs for jobs").
 * - `continue-on-error` on a job: an instance that fails is reported as `success`
 *   (actions/runner#1161) and does not fail the run.
 * - `timeout-minutes`: a job that runs longer is stopped and fails.
 * - The run's conclusion: `failure` when any job's result is `failure`.
 *
 * Mapping to the IR's outcomes (as the backend encodes them): `success` -> succeeded, unless the
 * job's `couler_failed` output says its (handled) failure was let through; `failure` or
 * `cancelled` -> failed; `skipped` -> omitted when a start part of the job's `if:` (a status
 * function, `needs.<id>.result`, `needs.<id>.outputs.couler_failed`) is false, else skipped when
 * its condition is false, else (only the empty-list guard was false) succeeded with no items.
 */
import { accessSync, constants, statSync } from "node:fs";
import { join } from "node:path";
import YAML from "yaml";
import type { OutputFile } from "../../../backends/backend.js";
import { githubSecretName } from "../../../backends/github/github-backend.js";
import { allSteps } from "../../../src/ir/graph.js";
import type { Step, WorkflowIR } from "../../../src/ir/types.js";
import { resultText } from "../local.js";
import type { ItemOutcome, OutcomeStatus, Replay, ReplayContext, RunOutcome, StepOutcome } from "../outcome.js";
import { NameResolver, irStepNames } from "../../readback/neutral-graph.js";
import { STATUS_FUNCTIONS, conjuncts, evalField, evalText, evalTree, holds, ifSource, walk, type Scope } from "./expr.js";
import { faninFiles, runJob, type JobRun, type Result } from "./job.js";

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const FAILED = "couler_failed";

export interface Finished {
  readonly result: Result;
  readonly outputs: Record<string, string>;
  /** How the `if:` decided, for a skipped job. */
  readonly skippedAs?: OutcomeStatus;
  /** How many matrix instances a skipped job would have had (a static matrix). */
  readonly skippedItems?: number;
  readonly instances: readonly JobRun[];
}

/** The property path of `needs.x.result` style accesses (undefined for anything else). */
function pathOf(e: unknown): string[] | undefined {
  const n = e as Obj;
  if (n.name?.lexeme !== undefined && !n.functionName && n.constructor?.name === "ContextAccess") return [String(n.name.lexeme)];
  if (n.constructor?.name === "IndexAccess") {
    const base = pathOf(n.expr);
    const idx = n.index?.literal?.coerceString?.() ?? (n.index?.constructor?.name === "Star" ? "*" : undefined);
    return base && idx !== undefined ? [...base, idx] : undefined;
  }
  return undefined;
}

const RESULT_WORDS = new Set(["success", "failure", "cancelled", "skipped", "true", "result", "outputs", FAILED]);

/**
 * Does this part of a job's `if:` decide whether the job may start (rather than its condition)?
 * A part comparing results with other words ('Failed', 'Succeeded') is an exit handler's
 * condition on the workflow status.
 */
function isStartPart(e: unknown): boolean {
  // a start rule that can never hold is written as `false` (a condition is always a comparison)
  const lit = (e as Obj).literal;
  if (lit && lit.kind === 3 && lit.value === false) return true;
  let start = false;
  let words = false;
  walk(e, (n) => {
    // string literals compared with something (not the property names of an access)
    if ((n as Obj).constructor?.name === "Binary") {
      for (const side of [(n as Obj).left, (n as Obj).right]) {
        const lit = side?.literal;
        if (lit && lit.kind === 0 && !RESULT_WORDS.has(lit.coerceString())) words = true;
      }
    }
    const fn = (n as Obj).functionName?.lexeme?.toLowerCase();
    if (fn && STATUS_FUNCTIONS.includes(fn)) start = true;
    const p = pathOf(n);
    if (p?.[0] === "needs" && ((p.length === 3 && p[2] === "result") || (p.length === 4 && p[2] === "outputs" && p[3] === FAILED))) start = true;
  });
  return start && !words;
}

/** The backend's empty-list guard: `toJSON(fromJSON(list)) != '[]'`. */
function isGuard(e: unknown): boolean {
  const n = e as Obj;
  return n.constructor?.name === "Binary" && n.operator?.lexeme === "!=" && n.right?.literal?.coerceString?.() === "[]" && n.left?.functionName?.lexeme === "toJSON";
}

function combos(matrix: unknown): Obj[] {
  if (!matrix || typeof matrix !== "object" || Array.isArray(matrix)) throw new Error(`matrix is not a mapping: ${JSON.stringify(matrix)}`);
  const m = matrix as Obj;
  const vectors = Object.entries(m).filter(([k]) => k !== "include" && k !== "exclude");
  let out: Obj[] = vectors.length ? [{}] : [];
  for (const [k, vs] of vectors) {
    if (!Array.isArray(vs) || vs.length === 0) throw new Error(`Matrix vector '${k}' does not contain any values`);
    out = out.flatMap((c) => vs.map((v) => ({ ...c, [k]: v })));
  }
  if (Array.isArray(m.include)) out = vectors.length ? out : m.include.map((x: Obj) => ({ ...x }));
  return out;
}

export async function runWorkflowFile(doc: Obj, ctx: ReplayContext, secrets: Record<string, string>): Promise<{ jobs: Map<string, Finished>; failed: boolean }> {
  const jobs: Obj = doc.jobs ?? {};
  const needsOf = (id: string): string[] => {
    const n = jobs[id].needs;
    return n === undefined ? [] : Array.isArray(n) ? n.map(String) : [String(n)];
  };
  const ancestors = (id: string, seen = new Set<string>()): Set<string> => {
    for (const n of needsOf(id)) if (!seen.has(n)) ancestors(n, seen.add(n));
    return seen;
  };
  const done = new Map<string, Finished>();
  const artifacts = new Map<string, string>();
  const wfName = String(doc.name ?? "workflow");
  const github = { workflow: wfName, run_id: "1", run_number: "1", run_attempt: "1", event_name: "workflow_dispatch", event: { inputs: ctx.params }, repository: "couler/replay" };
  const workflowEnv: Record<string, string> = {};
  for (const [k, v] of Object.entries(doc.env ?? {})) workflowEnv[k] = String(v);
  while (done.size < Object.keys(jobs).length) {
    const id = Object.keys(jobs).find((j) => !done.has(j) && needsOf(j).every((n) => done.has(n)));
    if (id === undefined) throw new Error("the jobs' needs form a cycle");
    const job: Obj = jobs[id];
    const needs = Object.fromEntries(needsOf(id).map((n) => [n, { result: done.get(n)!.result, outputs: done.get(n)!.outputs }]));
    const anc = [...ancestors(id)];
    const scope: Scope = {
      contexts: { github, inputs: ctx.params, needs, vars: {} },
      status: {
        success: () => anc.every((a) => done.get(a)!.result === "success"),
        failure: () => anc.some((a) => done.get(a)!.result === "failure"),
        cancelled: () => false,
      },
    };
    const src = ifSource(job.if === undefined ? undefined : String(job.if));
    const parts = conjuncts(src);
    if (!parts.every((p) => holds(p, scope))) {
      const startFalse = parts.some((p) => isStartPart(p) && !holds(p, scope));
      const condFalse = parts.some((p) => !isStartPart(p) && !isGuard(p) && !holds(p, scope));
      const skippedAs: OutcomeStatus = startFalse ? "omitted" : condFalse ? "skipped" : "succeeded";
      // a skipped job with a static matrix: each of its instances is skipped
      let items: number | undefined;
      if (skippedAs === "skipped" && job.strategy?.matrix !== undefined && typeof job.strategy.matrix !== "string") {
        try {
          items = combos(evalTree(job.strategy.matrix, scope)).length;
        } catch {
          items = undefined;
        }
      }
      done.set(id, { result: "skipped", outputs: {}, skippedAs, instances: [], ...(items !== undefined ? { skippedItems: items } : {}) });
      continue;
    }
    const strategy: Obj = job.strategy ?? {};
    let matrixList: Obj[] | undefined;
    let failed = false;
    try {
      if (strategy.matrix !== undefined) matrixList = combos(typeof strategy.matrix === "string" ? evalField(strategy.matrix, scope) : evalTree(strategy.matrix, scope));
    } catch {
      failed = true; // GitHub fails a job whose matrix cannot be expanded
    }
    const instances: JobRun[] = [];
    const outputs: Record<string, string> = {};
    let result: Result = failed ? "failure" : "success";
    const failFast = strategy["fail-fast"] === undefined ? true : strategy["fail-fast"] === true || strategy["fail-fast"] === "true";
    for (const [index, matrix] of (failed ? [] : (matrixList ?? [undefined])).entries()) {
      const contexts = {
        github: { ...github, job: id },
        inputs: ctx.params,
        needs,
        secrets,
        vars: {},
        matrix: matrix ?? {},
        strategy: { "fail-fast": failFast, "job-index": index, "job-total": matrixList?.length ?? 1, "max-parallel": strategy["max-parallel"] ?? matrixList?.length ?? 1 },
      };
      const instanceScope: Scope = { contexts };
      const minutes = job["timeout-minutes"] !== undefined ? Number(evalField(String(job["timeout-minutes"]), instanceScope)) : undefined;
      const run = await runJob({
        id,
        job,
        contexts,
        workflowEnv,
        baseEnv: ctx.env,
        artifacts,
        fresh: freshPaths.get(id) ?? [],
        ...(minutes !== undefined ? { timeout: minutes * 60 } : {}),
      });
      instances.push(run);
      for (const [k, v] of Object.entries(run.outputs)) outputs[k] = v;
      const coe = job["continue-on-error"] === true || evalText(String(job["continue-on-error"] ?? "false"), instanceScope) === "true";
      if (run.result !== "success" && !coe) {
        result = "failure";
        if (failFast) break;
      }
    }
    done.set(id, { result, outputs, instances });
  }
  return { jobs: done, failed: [...done.values()].some((f) => f.result === "failure") };
}

/** Can a process start this command word (what `couler run --no-container` needs)? */
function onPath(word: string, path: string): boolean {
  const can = (f: string) => {
    try {
      accessSync(f, constants.X_OK);
      return statSync(f).isFile();
    } catch {
      return false;
    }
  };
  return word.includes("/") ? can(word) : path.split(":").some((d) => d !== "" && can(join(d, word)));
}

/** Declared output files per job id, removed before the job starts (a fresh container). */
const freshPaths = new Map<string, string[]>();

function outputsOf(step: Step, values: Readonly<Record<string, string>>, stdout: string | undefined): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  const norm = (x: string) => x.toLowerCase().replace(/[^a-z0-9]/g, "");
  const declared = step.kind === "container" || step.kind === "script" ? (step.outputs ?? []) : [];
  for (const o of declared) {
    const key = Object.keys(values).find((k) => k === o.name) ?? Object.keys(values).find((k) => norm(k) === norm(o.name) && k !== "result");
    if (key !== undefined) out[o.name] = values[key]!;
  }
  if (values.result !== undefined && !declared.some((o) => o.name === "result")) out.result = values.result;
  else if (stdout !== undefined && out.result === undefined) out.result = resultText(stdout);
  return Object.keys(out).length ? out : undefined;
}

function outcomeOf(step: Step, f: Finished | undefined): StepOutcome {
  if (!f) return { status: "omitted" };
  if (f.result === "skipped") {
    if (f.skippedAs === "succeeded" && step.loop) return { status: "succeeded", items: [] };
    if (f.skippedAs === "skipped" && step.loop && f.skippedItems !== undefined) {
      return { status: "skipped", items: Array.from({ length: f.skippedItems }, () => ({ status: "skipped" as const })) };
    }
    return { status: f.skippedAs ?? "omitted" };
  }
  const failed = f.result !== "success" || f.outputs[FAILED] === "true";
  if (step.loop) {
    const items: ItemOutcome[] = f.instances.map((r) => {
      const bad = r.result !== "success" || r.outputs[FAILED] === "true";
      const outs = bad ? undefined : outputsOf(step, { ...faninFiles(r.temp), ...r.outputs, ...(r.steps.outputs?.outputs ?? {}) }, r.runStdout);
      return { status: bad ? "failed" : "succeeded", ...(outs ? { outputs: outs } : {}) };
    });
    return { status: failed || items.some((i) => i.status === "failed") ? "failed" : "succeeded", items };
  }
  if (failed) return { status: "failed" };
  const outs = outputsOf(step, f.outputs, f.instances[0]?.runStdout);
  return { status: "succeeded", ...(outs ? { outputs: outs } : {}) };
}

export const githubReplay: Replay = {
  target: "github",
  async run(files: readonly OutputFile[], ir: WorkflowIR, ctx: ReplayContext): Promise<RunOutcome> {
    const file = files.find((f) => /^\.github\/workflows\/[^/]+\.ya?ml$/.test(f.path));
    if (!file) throw new Error("no workflow file");
    const doc = YAML.parse(file.content) as Obj;
    const names = new NameResolver(irStepNames(ir));
    const jobOf = new Map<string, string>();
    for (const id of Object.keys(doc.jobs ?? {})) {
      const n = names.tryResolve(id) ?? (typeof doc.jobs[id].name === "string" ? names.tryResolve(doc.jobs[id].name) : undefined);
      if (n !== undefined && !(id.endsWith("-collect") && names.tryResolve(id) === undefined)) if (!jobOf.has(n)) jobOf.set(n, id);
    }
    freshPaths.clear();
    for (const s of allSteps(ir)) {
      const id = jobOf.get(s.name);
      if (id && (s.kind === "container" || s.kind === "script")) freshPaths.set(id, (s.outputs ?? []).flatMap((o) => (o.path !== undefined ? [o.path] : [])));
    }
    const secrets: Record<string, string> = {};
    for (const [secret, keys] of Object.entries(ctx.secrets)) for (const [key, v] of Object.entries(keys)) secrets[githubSecretName(secret, key)] = v;
    const { jobs, failed } = await runWorkflowFile(doc, ctx, secrets);
    const section = (steps: readonly Step[]) => Object.fromEntries(steps.map((s) => [s.name, outcomeOf(s, jobs.get(jobOf.get(s.name) ?? ""))]));
    const onExit = section(ir.onExit ?? []);
    // The IR's Error (every unhandled failure is a step that could not run) has no GitHub
    // counterpart (the run concludes `failure`); it is read from the job's log as the backend
    // encodes it: the program's command word is not on PATH and the shell said 127 (command not
    // found), or the program succeeded and the `outputs` step failed (a declared output file is
    // missing).
    const byJob = new Map([...jobOf].map(([step, id]) => [id, allSteps(ir).find((s) => s.name === step)!]));
    const mainJobs = new Set(ir.steps.map((s) => jobOf.get(s.name)));
    const mainFailed = [...jobs].filter(([id, f]) => mainJobs.has(id) && f.result === "failure");
    const erroredRun = (step: Step | undefined, r: JobRun) => {
      const word = step && (step.kind === "container" || step.kind === "script") ? step.command?.[0] : undefined;
      const missing = typeof word === "string" && !onPath(word, ctx.env.PATH ?? "");
      return (r.steps.run?.outcome === "failure" && r.runCode === 127 && missing) || (r.steps.run?.outcome === "success" && r.steps.outputs?.outcome === "failure");
    };
    const errored = (id: string, f: Finished) => f.instances.length > 0 && f.instances.every((r) => r.result === "success" || erroredRun(byJob.get(id), r));
    const status = !failed ? "Succeeded" : mainFailed.length && mainFailed.every(([id, f]) => errored(id, f)) ? "Error" : "Failed";
    return { status, steps: section(ir.steps), ...(Object.keys(onExit).length ? { onExit } : {}) };
  },
  knownDifferences: [
    ...[
      [/which its condition may skip/, "a skipped job's outputs read as empty text on GitHub, where the IR fails the reader as errored"],
      [/GitHub compares text ignoring case/, "GitHub's == ignores case, so a condition may hold where the IR's does not"],
      [/GitHub counts whole minutes/, "a step timeout becomes timeout-minutes, rounded up"],
      [/timeout-minutes covers all attempts/, "with emulated retries one timeout covers every attempt"],
      [/retry window .* whole seconds/, "the emulated retry window is measured in whole seconds"],
      [/GitHub has no Error status/, "an exit handler reads Failed where the IR's status is Error"],
    ].map(([warning, why]) => ({ match: /^(workflow: |(exit )?step "[^"]+"(\[\d+\])?:? )/, warning: warning as RegExp, why: why as string })),
    {
      match: /^(workflow: |(exit )?step "[^"]+"(\[\d+\])?: )\w+ by couler run, \w+ on github$/,
      warning: /GitHub has no separate "errored" state/,
      why: "an Errored edge reads as failed: a step that failed plainly starts what waits for Errored, and what follows changes with it",
    },
    {
      match: /^step "[^"]+"\[\d+\]: skipped by couler run, succeeded on github$/,
      warning: /a condition on the loop item is checked inside each matrix job/,
      why: "a job's if: cannot read the matrix, so the item condition is a step-level if: the instance runs and succeeds with its steps skipped",
    },
  ],
};
