/**
 * One job (one matrix instance) of a GitHub Actions workflow, run the way the runner runs it,
 * on this machine (a job `container:` is ignored: its steps run on the host).
 *
 * Steps run in order (actions/runner `src/Runner.Worker/StepsRunner.cs`, RunAsync): each step's
 * `if:` is evaluated with the job's status (`success()` while no step has failed); a false
 * condition skips the step (outcome and conclusion `skipped`); a failed step with
 * `continue-on-error` keeps outcome `failure` but concludes `success`
 * (`src/Runner.Worker/ExecutionContext.cs`, ApplyContinueOnError); a step that concludes
 * `failure` makes the job's status `failure`. After the steps, the job's `outputs` are
 * evaluated over the steps context, and empty values are not set
 * (`src/Runner.Worker/JobExtension.cs`, FinalizeJob).
 *
 * Env: workflow `env`, then job `env`, then what earlier steps wrote to `$GITHUB_ENV`, then the
 * step's own `env` (`src/Runner.Worker/ActionRunner.cs` and `FileCommandManager.cs`
 * SetEnvFileCommand). Each step gets fresh `$GITHUB_OUTPUT` / `$GITHUB_ENV` files, read after
 * it ends (`FileCommandManager.cs`, ProcessFiles).
 *
 * Actions the backend uses are emulated by what they do for these workflows:
 * `actions/upload-artifact` / `download-artifact` copy folders through a run-wide store;
 * `actions/github-script` runs its script as an async function with `require` and `core`
 * (`core.setOutput`); `actions/cache/restore` always misses and `actions/cache/save` does
 * nothing (`couler run` does not memoize).
 */
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { privateDir, runLocal } from "../local.js";
import { evalText, holds, ifSource, parse, type Scope } from "./expr.js";
import { parseFileCommands, scriptExtension, shellArgv } from "./runner-files.js";

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export type Result = "success" | "failure" | "cancelled" | "skipped";

export interface StepState {
  outputs: Record<string, string>;
  outcome: Result;
  conclusion: Result;
}

export interface JobRun {
  readonly result: Result;
  readonly outputs: Record<string, string>;
  readonly steps: Record<string, StepState>;
  /** Stdout of the step with id `run` (what the job log shows of the program). */
  readonly runStdout?: string;
  /** Exit code of the `run` step (126/127: the shell could not start the command). */
  readonly runCode?: number;
  /** The runner temp folder, kept for reading (fan-in files). */
  readonly temp: string;
}

export interface JobSetup {
  readonly id: string;
  readonly job: Obj;
  /** Contexts other than steps, env, job, runner (github, inputs, needs, matrix, strategy, secrets). */
  readonly contexts: Record<string, unknown>;
  readonly workflowEnv: Record<string, string>;
  readonly baseEnv: Readonly<Record<string, string>>;
  /** Artifact name -> folder. */
  readonly artifacts: Map<string, string>;
  /** Paths a fresh job container would not have (the step's declared output files). */
  readonly fresh: readonly string[];
  /** Seconds the job may run (timeout-minutes), undefined: no limit here. */
  readonly timeout?: number;
}

const require = createRequire(import.meta.url);

export async function runJob(j: JobSetup): Promise<JobRun> {
  const workspace = privateDir("couler-gh-ws-");
  const temp = privateDir("couler-gh-temp-");
  for (const p of j.fresh) rmSync(p, { recursive: true, force: true });
  const steps: Record<string, StepState> = {};
  const setEnv: Record<string, string> = {};
  let status: "success" | "failure" | "cancelled" = "success";
  let runStdout: string | undefined;
  let runCode: number | undefined;
  const started = Date.now();
  const runner = { os: "Linux", arch: "X64", name: "couler-replay", temp, tool_cache: temp };
  const scope = (env: Record<string, string>): Scope => ({
    contexts: { ...j.contexts, steps, env, runner, job: { status } },
    status: { success: () => status === "success", failure: () => status === "failure", cancelled: () => status === "cancelled" },
  });
  const jobEnv: Record<string, string> = { ...j.workflowEnv };
  for (const [k, v] of Object.entries(j.job.env ?? {})) jobEnv[k] = evalText(String(v), scope(jobEnv));

  for (const [n, st] of ((j.job.steps ?? []) as Obj[]).entries()) {
    const id: string = st.id ?? `__${n}`;
    const envBefore = { ...jobEnv, ...setEnv };
    const sc = scope(envBefore);
    if (!holds(parse(ifSource(st.if === undefined ? undefined : String(st.if))), sc)) {
      steps[id] = { outputs: {}, outcome: "skipped", conclusion: "skipped" };
      continue;
    }
    const stepEnv: Record<string, string> = { ...envBefore };
    for (const [k, v] of Object.entries(st.env ?? {})) stepEnv[k] = evalText(String(v), scope(stepEnv));
    let ok = true;
    const outputs: Record<string, string> = {};
    try {
      if (st.uses !== undefined) ok = await runAction(String(st.uses), st.with ?? {}, sc, stepEnv, j, outputs);
      else {
        const outFile = join(temp, `set_output_${n}`);
        const envFile = join(temp, `set_env_${n}`);
        writeFileSync(outFile, "");
        writeFileSync(envFile, "");
        const script = join(temp, `step_${n}${scriptExtension(st.shell)}`);
        writeFileSync(script, evalText(String(st.run), sc));
        const left = j.timeout !== undefined ? Math.max(1, j.timeout - (Date.now() - started) / 1000) : undefined;
        const env: Record<string, string> = {
          ...j.baseEnv,
          CI: "true",
          GITHUB_ACTIONS: "true",
          GITHUB_JOB: j.id,
          GITHUB_WORKSPACE: workspace,
          RUNNER_TEMP: temp,
          RUNNER_OS: "Linux",
          ...stepEnv,
          GITHUB_OUTPUT: outFile,
          GITHUB_ENV: envFile,
        };
        const r = await runLocal({ argv: shellArgv(st.shell, script), env, cwd: workspace, ...(left !== undefined ? { timeout: left } : {}) });
        if (st.id === "run") {
          runStdout = r.stdout;
          runCode = r.exitCode;
        }
        ok = r.exitCode === 0;
        try {
          for (const [k, v] of parseFileCommands(readFileSync(outFile, "utf8"))) outputs[k] = v;
          for (const [k, v] of parseFileCommands(readFileSync(envFile, "utf8"))) if (k.toUpperCase() !== "NODE_OPTIONS") setEnv[k] = v;
        } catch {
          ok = false;
        }
        if (r.timedOut) {
          // the job's timeout-minutes ran out: the runner cancels the job
          steps[id] = { outputs, outcome: "failure", conclusion: "failure" };
          status = "failure";
          break;
        }
      }
    } catch {
      ok = false;
    }
    const coe = st["continue-on-error"] === true || st["continue-on-error"] === "true";
    const outcome: Result = ok ? "success" : "failure";
    const conclusion: Result = ok || coe ? "success" : "failure";
    steps[id] = { outputs, outcome, conclusion };
    if (conclusion === "failure") status = "failure";
  }
  // Secrets are masked in the log, and a job output holding one is not set (JobExtension.cs FinalizeJob).
  const secretValues = Object.values((j.contexts.secrets ?? {}) as Record<string, string>).filter((v) => v !== "");
  const mask = (t: string) => secretValues.reduce((x, v) => x.split(v).join("***"), t);
  const outputs: Record<string, string> = {};
  for (const [k, v] of Object.entries(j.job.outputs ?? {})) {
    const value = evalText(String(v), scope({ ...jobEnv, ...setEnv }));
    if (value !== "" && mask(value) === value) outputs[k] = value;
  }
  if (runStdout !== undefined) runStdout = mask(runStdout);
  return { result: status, outputs, steps, ...(runStdout !== undefined ? { runStdout } : {}), ...(runCode !== undefined ? { runCode } : {}), temp };
}

async function runAction(uses: string, w: Obj, sc: Scope, env: Record<string, string>, j: JobSetup, outputs: Record<string, string>): Promise<boolean> {
  const input = (k: string) => (w[k] === undefined ? "" : evalText(String(w[k]), sc));
  const action = uses.replace(/@.*$/, "");
  switch (action) {
    case "actions/upload-artifact": {
      const path = input("path");
      if (!existsSync(path)) return input("if-no-files-found") !== "error";
      const to = privateDir("couler-gh-artifact-");
      cpSync(path, to, { recursive: true });
      j.artifacts.set(input("name"), to);
      return true;
    }
    case "actions/download-artifact": {
      const path = input("path");
      mkdirSync(path, { recursive: true });
      const name = input("name");
      if (name !== "") {
        const from = j.artifacts.get(name);
        if (!from) return false;
        cpSync(from, path, { recursive: true });
        return true;
      }
      const re = new RegExp(`^${input("pattern").split("*").map((x) => x.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`);
      for (const [n, from] of j.artifacts) if (re.test(n)) cpSync(from, input("merge-multiple") === "true" ? path : join(path, n), { recursive: true });
      return true;
    }
    case "actions/github-script": {
      const core = { setOutput: (k: string, v: unknown) => (outputs[k] = typeof v === "string" ? v : JSON.stringify(v)) };
      const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor as new (...a: string[]) => (...x: unknown[]) => Promise<unknown>;
      await new AsyncFunction("require", "core", "process", input("script"))(require, core, { env: { ...j.baseEnv, ...env } });
      return true;
    }
    case "actions/cache/restore":
    case "actions/cache/save":
      return true;
    default:
      throw new Error(`the replay does not know action ${uses}`);
  }
}

/** The files a matrix instance left for the fan-in collector (`$RUNNER_TEMP/couler-fanin/<index>/<key>`). */
export function faninFiles(temp: string): Record<string, string> {
  const out: Record<string, string> = {};
  const dir = join(temp, "couler-fanin");
  if (!existsSync(dir)) return out;
  for (const i of readdirSync(dir)) for (const k of readdirSync(join(dir, i))) out[k] = readFileSync(join(dir, i, k), "utf8").replace(/\n$/, "");
  return out;
}
