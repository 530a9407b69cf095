/**
 * One TaskRun, replayed: its steps in order, each as the container Tekton builds for it, run as
 * a local process (test/replay/local.ts).
 *
 * - Variables: the task-level passes of ./substitute.ts, on image, command, args, env values,
 *   script and workingDir (pkg/reconciler/taskrun/resources/apply.go, ApplyReplacements).
 * - `script`: written to a file under /tekton/scripts, with `#!/bin/sh\nset -e\n` in front
 *   when it has no shebang; the container's command is that file, its args stay
 *   (pkg/pod/script.go, placeScriptInContainer). Otherwise command + args.
 * - Kubernetes then expands `$(VAR)` and `$$` in command, args and env (../kube-expand.ts).
 * - Steps run one after another; a step that fails ends the TaskRun unless its `onError` is
 *   `continue` (pkg/entrypoint/entrypointer.go, Go: with ContinueOnError and an ExitError the
 *   exit code is written and the next step runs; a step timeout is not continued). Every step
 *   writes its exit code to /tekton/steps/step-<name>/exitCode (WriteExitCodeFile).
 * - Results: read from /tekton/results/<name> after the steps (entrypointer readResultsFromDisk);
 *   an array result is JSON (pkg/apis/pipeline/v1/result_types.go).
 * - Retries: a failed (or timed-out) TaskRun is run again with a fresh pod while retries are
 *   left, `$(context.task.retry-count)` counting earlier attempts (pkg/reconciler/taskrun/taskrun.go,
 *   retries; resources/apply.go getContextReplacements).
 * Engine paths (/tekton/…, /workspace) live in a private folder per attempt.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { kubeContainer } from "../kube-expand.js";
import { privateDir, runLocal } from "../local.js";
import { applyAll, pass, substitute, substituteArray, type ParamValue, type Pass } from "./substitute.js";

export type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface TaskRunSpec {
  /** The TaskRun's name (`$(context.taskRun.name)`). */
  readonly name: string;
  readonly taskName: string;
  readonly spec: Obj;
  /** Params the pipeline task binds (pipeline-level substitution done), with matrix values. */
  readonly params: Readonly<Record<string, ParamValue>>;
  readonly retries: number;
  /** Seconds for each attempt (pipeline task `timeout`). */
  readonly timeout?: number;
  /** Epoch ms after which everything is stopped (pipeline or tasks timeout). */
  readonly deadline?: number;
  readonly env: Readonly<Record<string, string>>;
  readonly secrets: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /** Absolute paths a fresh container would not have. */
  readonly fresh: readonly string[];
}

export interface StepRun {
  readonly name: string;
  readonly status: "succeeded" | "failed" | "notrun";
  readonly exitCode?: number;
  readonly stdout: string;
}

export interface TaskRunResult {
  readonly status: "succeeded" | "failed";
  /** Failed because a deadline (own timeout, or the run's) was reached. */
  readonly timedOut: boolean;
  readonly results: Readonly<Record<string, ParamValue>>;
  readonly steps: readonly StepRun[];
  readonly attempts: number;
}

/** Tekton duration text (`1h2m3s`, `90s`) in seconds. */
export function seconds(d: unknown): number | undefined {
  if (typeof d !== "string") return undefined;
  let total = 0;
  for (const m of d.matchAll(/([\d.]+)(h|ms|m|s)/g)) total += Number(m[1]) * { h: 3600, m: 60, s: 1, ms: 0.001 }[m[2] as "h"]!;
  return total;
}

export async function runTaskRun(tr: TaskRunSpec): Promise<TaskRunResult> {
  let last: TaskRunResult | undefined;
  for (let attempt = 0; attempt <= tr.retries; attempt++) {
    last = await attemptOnce(tr, attempt);
    if (last.status === "succeeded") return last;
    if (tr.deadline !== undefined && Date.now() >= tr.deadline) return last;
  }
  return last!;
}

async function attemptOnce(tr: TaskRunSpec, retryCount: number): Promise<TaskRunResult> {
  const root = privateDir("couler-tekton-pod-");
  const tekton = join(root, "tekton");
  for (const d of ["results", "scripts", "steps"]) mkdirSync(join(tekton, d), { recursive: true });
  const spec = tr.spec;
  const steps: Obj[] = spec.steps ?? [];

  // Task-level passes (taskrun.go: ApplyParameters, ApplyContexts, ApplyResults, ApplyStepExitCodePath, ApplyWorkspaces).
  const paramValues = new Map<string, ParamValue>();
  for (const p of (spec.params ?? []) as Obj[]) if (p.default !== undefined) paramValues.set(`params.${p.name}`, p.default);
  for (const [k, v] of Object.entries(tr.params)) paramValues.set(`params.${k}`, v);
  const passes: Pass[] = [
    pass(paramValues),
    pass([
      ["context.taskRun.name", tr.name],
      ["context.task.name", tr.taskName],
      ["context.task.retry-count", String(retryCount)],
      ["context.taskRun.namespace", "default"],
    ]),
    pass(((spec.results ?? []) as Obj[]).map((r) => [`results.${r.name}.path`, join(tekton, "results", r.name)] as const)),
    pass(steps.map((s) => [`steps.step-${s.name}.exitCode.path`, join(tekton, "steps", `step-${s.name}`, "exitCode")] as const)),
    pass(((spec.workspaces ?? []) as Obj[]).map((w) => [`workspaces.${w.name}.path`, join(root, "workspace", w.name)] as const)),
  ];
  const one = (t: string) => applyAll(t, passes);
  const many = (list: readonly string[] | undefined) => (list ?? []).flatMap((x) => passes.reduce<string[]>((acc, p) => acc.flatMap((y) => substituteArray(y, p)), [x]));

  const start = Date.now();
  const ownDeadline = tr.timeout !== undefined && tr.timeout > 0 ? start + tr.timeout * 1000 : undefined;
  const deadline = [ownDeadline, tr.deadline].filter((x): x is number => x !== undefined).reduce<number | undefined>((a, b) => (a === undefined ? b : Math.min(a, b)), undefined);
  const runs: StepRun[] = [];
  let failed = false;
  let timedOut = false;
  for (const [i, s] of steps.entries()) {
    if (failed) {
      runs.push({ name: s.name, status: "notrun", stdout: "" });
      continue;
    }
    let argv: string[];
    if (typeof s.script === "string") {
      // pod/script.go placeScriptInContainer: shebang or the default preamble; command = the file.
      const text = one(s.script);
      const file = join(tekton, "scripts", `script-${i}`);
      writeFileSync(file, text.trim().startsWith("#!") ? text : `#!/bin/sh\nset -e\n${text}`);
      chmodSync(file, 0o755);
      argv = [file, ...many(s.args)];
    } else argv = [...many(s.command), ...many(s.args)];
    const env: { name: string; value: string }[] = [];
    for (const e of (s.env ?? []) as Obj[]) {
      if (e.valueFrom?.secretKeyRef) env.push({ name: e.name, value: tr.secrets[e.valueFrom.secretKeyRef.name]?.[e.valueFrom.secretKeyRef.key] ?? "" });
      else env.push({ name: e.name, value: one(String(e.value ?? "")) });
    }
    const k = kubeContainer(argv, env);
    const stepTimeout = seconds(s.timeout);
    const remaining = deadline !== undefined ? Math.max(0.001, (deadline - Date.now()) / 1000) : undefined;
    const limit = [stepTimeout, remaining].filter((x): x is number => x !== undefined).reduce<number | undefined>((a, b) => (a === undefined ? b : Math.min(a, b)), undefined);
    const wd = typeof s.workingDir === "string" ? one(s.workingDir) : undefined;
    const r =
      k.argv.length === 0
        ? { exitCode: 1, stdout: "", timedOut: false }
        : await runLocal({
            argv: k.argv,
            env: { ...tr.env, ...k.env },
            fresh: tr.fresh,
            ...(limit !== undefined ? { timeout: limit } : {}),
            ...(wd !== undefined && existsSync(wd) && statSync(wd).isDirectory() ? { cwd: wd } : {}),
          });
    const code = r.exitCode ?? (r.timedOut ? 1 : 137);
    const exitDir = join(tekton, "steps", `step-${s.name}`);
    mkdirSync(exitDir, { recursive: true });
    if (r.timedOut) {
      // A deadline is never continued (entrypointer: ErrContextDeadlineExceeded writes a post file error).
      timedOut = true;
      failed = true;
      runs.push({ name: s.name, status: "failed", stdout: r.stdout });
      continue;
    }
    writeFileSync(join(exitDir, "exitCode"), String(code));
    if (code === 0) runs.push({ name: s.name, status: "succeeded", exitCode: 0, stdout: r.stdout });
    else {
      runs.push({ name: s.name, status: "failed", exitCode: code, stdout: r.stdout });
      if (s.onError !== "continue") failed = true;
    }
  }
  const results: Record<string, ParamValue> = {};
  if (!failed) {
    for (const decl of (spec.results ?? []) as Obj[]) {
      const f = join(tekton, "results", decl.name);
      if (!existsSync(f)) continue;
      const text = readFileSync(f, "utf8");
      if (decl.type === "array") {
        try {
          const v: unknown = JSON.parse(text);
          if (Array.isArray(v)) results[decl.name] = v.map((x) => (typeof x === "string" ? x : JSON.stringify(x)));
          else failed = true;
        } catch {
          failed = true; // pod/status.go: a result that does not parse as its type fails the TaskRun
        }
      } else results[decl.name] = text;
    }
  }
  return { status: failed ? "failed" : "succeeded", timedOut, results: failed ? {} : results, steps: runs, attempts: retryCount + 1 };
}

/** Substitute a single pipeline-level pass into a pipeline task's params (helper for callers). */
export function substituteParam(v: ParamValue, p: Pass): ParamValue {
  if (typeof v !== "string") return v.flatMap((x) => substituteArray(x, p));
  const m = /^\$\(([^()]*)\[\*\]\)$/.exec(v);
  return m && p.arr?.has(m[1]!) ? [...p.arr.get(m[1]!)!] : substitute(v, p);
}
