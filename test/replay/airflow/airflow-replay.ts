/**
 * The Airflow replays: the emitted DAG file run the way Airflow 2.6.3's `dag.test()` runs it
 * (dag_test.py beside this file, one python3 process per workflow), for both lowerings the golden
 * suite has: KubernetesPodOperator (each pod's `cmds + arguments` as a local process after
 * Kubernetes' expansion, the XCom sidecar's `return.json`) and BashOperator.
 *
 * Task instance states become the IR's step outcomes: `success` succeeded, `failed` failed,
 * `skipped` skipped (only a false `when` skips a step in this backend's DAGs), `upstream_failed`
 * (or never run) omitted; a step whose `__when` or `__items` helper failed failed (it could not
 * evaluate its condition or list). A mapped step's instances are its items, in map-index order.
 * The run's status is the DagRun's state.
 */
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { OutputFile } from "../../../backends/backend.js";
import { allSteps } from "../../../src/ir/graph.js";
import type { WorkflowIR } from "../../../src/ir/types.js";
import { repoPath } from "../../helpers/paths.js";
import { irStepNames, NameResolver } from "../../readback/neutral-graph.js";
import { privateDir } from "../local.js";
import type { ItemOutcome, KnownDifference, OutcomeStatus, Replay, ReplayContext, RunOutcome, StepOutcome } from "../outcome.js";

interface TiResult {
  readonly map_index: number;
  readonly state: string | null;
  readonly tries: number;
  readonly xcom: unknown;
  readonly stdout: string;
  /** The container could not start (its command does not exist here): couler run's "errored". */
  readonly start_error?: boolean;
}
interface DagTestResult {
  readonly state: string;
  readonly tis: Readonly<Record<string, readonly TiResult[]>>;
}

/** The run id the replay's DAG run gets (`{{ run_id }}` stands for the workflow name). */
export const RUN_ID = "manual__couler-replay";

const STATE: Record<string, OutcomeStatus> = { success: "succeeded", failed: "failed", skipped: "skipped", upstream_failed: "omitted" };

function outputsOf(ti: TiResult): Record<string, string> {
  let x = ti.xcom;
  if (typeof x === "string") {
    try {
      x = JSON.parse(x);
    } catch {
      x = undefined;
    }
  }
  if (x && typeof x === "object" && !Array.isArray(x) && "result" in x) {
    const o = x as { result: string; outputs?: Record<string, string> };
    return { result: o.result, ...(o.outputs ?? {}) };
  }
  return { result: ti.stdout.endsWith("\n") ? ti.stdout.slice(0, -1) : ti.stdout };
}

/** The IR outcome of one step from its tasks' instances. */
function stepOutcome(tid: string, mapped: boolean, r: DagTestResult): StepOutcome {
  const own = r.tis[tid] ?? [];
  const helperFailed = ["__when", "__items"].some((h) => (r.tis[`${tid}${h}`] ?? []).some((t) => t.state === "failed"));
  if (!mapped) {
    const ti = own[0];
    const status: OutcomeStatus = helperFailed ? "failed" : (STATE[ti?.state ?? ""] ?? "omitted");
    return { status, ...(status === "succeeded" && ti ? { outputs: outputsOf(ti) } : {}) };
  }
  const instances = own.filter((t) => t.map_index >= 0).sort((a, b) => a.map_index - b.map_index);
  if (helperFailed) return { status: "failed" };
  if (instances.length === 0) {
    const s = own[0]?.state ?? "";
    // a fan-out over an empty list: Airflow skips the unexpanded task (expand_mapped_task)
    const empty = s === "skipped" && (r.tis[`${tid}__items`] ?? []).some((t) => t.state === "success") && !(r.tis[`${tid}__when`] ?? []).some((t) => t.state !== "success");
    if (empty) return { status: "succeeded", items: [] };
    return { status: STATE[s] ?? "omitted" };
  }
  const items: ItemOutcome[] = instances.map((t) => {
    const status = STATE[t.state ?? ""] ?? "omitted";
    return { status, ...(status === "succeeded" ? { outputs: outputsOf(t) } : {}) };
  });
  const status: OutcomeStatus = items.some((i) => i.status === "failed") ? "failed" : items.every((i) => i.status === "skipped") ? "skipped" : "succeeded";
  return { status, items };
}

function runDagTest(file: OutputFile, ctx: ReplayContext, fresh: readonly string[]): DagTestResult {
  const dir = privateDir("couler-airflow-replay-");
  const path = join(dir, file.path);
  writeFileSync(path, file.content);
  const job = join(dir, "job.json");
  const env: Record<string, string> = { ...ctx.env };
  // secrets reach a pod as env vars from the secret; the replay gives them by name
  writeFileSync(job, JSON.stringify({ file: path, params: ctx.params, env, run_id: RUN_ID, workdir: dir, fresh }));
  const out = execFileSync("python3", [repoPath("test", "replay", "airflow", "dag_test.py"), job], {
    encoding: "utf8",
    maxBuffer: 1 << 28,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", LANG: "C.UTF-8", PYTHONDONTWRITEBYTECODE: "1" },
  });
  return JSON.parse(out) as DagTestResult;
}

/** Differences the backend warns about at compile time. */
const KNOWN: readonly KnownDifference[] = [
  {
    match: new RegExp(RUN_ID),
    warning: /Airflow has no per-run workflow name/,
    why: "the workflow name is the DAG run's run_id on Airflow",
  },
  {
    match: /items by couler run, \d+ on airflow|: (succeeded|skipped) by couler run, (skipped|succeeded) on airflow/,
    warning: /get no instance on target airflow/,
    why: "fan-out items whose condition is false get no mapped instance (couler run records skipped items)",
  },
];

function makeReplay(options: Readonly<Record<string, string>>): Replay {
  return {
    target: "airflow",
    options,
    knownDifferences: KNOWN,
    async run(files, ir: WorkflowIR, ctx): Promise<RunOutcome> {
      const file = files.find((f) => f.path.endsWith(".py"));
      if (!file) throw new Error("no DAG file");
      const fresh = allSteps(ir).flatMap((s) => (s.kind === "container" || s.kind === "script" ? (s.outputs ?? []).flatMap((o) => (o.path ? [o.path] : [])) : []));
      // a pod's secret env vars: the replay's stand-in for Kubernetes gives them their values
      const secretEnv: Record<string, string> = {};
      for (const s of allSteps(ir)) if (s.kind === "container" || s.kind === "script") for (const e of s.secretEnv ?? []) secretEnv[e.name] = ctx.secrets[e.secret]?.[e.key] ?? "";
      const r = runDagTest(file, { ...ctx, env: { ...ctx.env, ...secretEnv } }, fresh);
      const names = new NameResolver(irStepNames(ir));
      const exitNames = new Set((ir.onExit ?? []).map((s) => s.name));
      const loops = new Set(allSteps(ir).filter((s) => s.loop).map((s) => s.name));
      const steps: Record<string, StepOutcome> = {};
      const onExit: Record<string, StepOutcome> = {};
      for (const tid of Object.keys(r.tis)) {
        if (/__(when|items|depends)$/.test(tid) || tid.startsWith("couler_workflow_")) continue;
        const name = names.tryResolve(tid);
        if (name === undefined) throw new Error(`task ${tid} is not a step`);
        (exitNames.has(name) ? onExit : steps)[name] = stepOutcome(tid, loops.has(name), r);
      }
      // A DAG run is success or failed. Where every failed step's container could not start (the
      // pod's StartError; here: the command is missing on this machine) couler run says Error:
      // the same run in the IR's words.
      const failedTis = Object.entries(r.tis)
        .filter(([tid]) => !/__(when|items|depends)$/.test(tid) && !tid.startsWith("couler_workflow_"))
        .flatMap(([, tis]) => tis.filter((t) => t.state === "failed"));
      const status = r.state === "success" ? "Succeeded" : failedTis.length && failedTis.every((t) => t.start_error) ? "Error" : "Failed";
      return { status, steps, ...(ir.onExit?.length ? { onExit } : {}) };
    },
  };
}

/** One replay per lowering the golden suite compiles (backends/airflow goldenVariants). */
export const AIRFLOW_REPLAYS: readonly Replay[] = [makeReplay({}), makeReplay({ operator: "bash" })];
