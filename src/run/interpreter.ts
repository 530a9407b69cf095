/**
 * The local interpreter: runs a workflow's IR on this machine with the semantics the IR's
 * doc comments define (ordering by `depends`, conditions, `map` fan-out and fan-in,
 * `execWhile`, retries, timeouts, exit handlers). Steps are local processes: directly on
 * the host (`container: "none"`), or through docker/podman.
 *
 * Isolation on the host: each attempt gets a private folder, used as its working
 * directory and `TMPDIR`. A declared output file is read from its real path (e.g.
 * `/tmp/accuracy`) right after the step ends; steps that declare the same output path hold
 * a lock on it from start until their outputs are read, so parallel instances of a `map`
 * never read each other's files (they run one at a time instead, and the run says so first).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { depAtoms, producersOf, refsOfStep } from "../ir/graph.js";
import type { ContainerStep, Depends, Retry, ScriptStep, Step, WhileStep, WorkflowIR } from "../ir/types.js";
import {
  conditionText,
  evalCondition,
  EvalError,
  evalDepends,
  HANDLES_FAILURE,
  itemText,
  renderValue,
  type EvalScope,
  type Finished,
  type Item,
} from "./evaluate.js";
import { maskSecrets, missingSecrets, resolveParams, RunInputError, secretLookup, type SecretLookup, type SecretValues } from "./inputs.js";
import { skippedFeatures } from "./limits.js";
import { runProcess, type ProcessResult } from "./process.js";
import type { ItemRun, RunOfStep, RunRecord, StepRecord, StepStatus, WorkflowStatus } from "./record.js";
import { KeyedLocks, onPath, runQuietly, Semaphore, sleep } from "./runtime.js";

export interface RunOptions {
  /** `--param` values; defaults fill the rest. */
  readonly params?: Readonly<Record<string, string>>;
  /** At most this many step processes at once (default: the number of CPUs). */
  readonly concurrency?: number;
  /** `none`: run commands on the host (`--no-container`); otherwise the runtime to use (`docker`, `podman`). */
  readonly container: "none" | { readonly runtime: string };
  readonly secrets?: SecretValues;
  /** The environment steps inherit on the host and secrets may come from (default `process.env`). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Stop the main graph (Ctrl-C): running steps are killed, the exit handler still runs. */
  readonly signal?: AbortSignal;
  /** Stop everything, the exit handler included (a second Ctrl-C). */
  readonly hardSignal?: AbortSignal;
  /** Most rounds an `execWhile` loop may run before it fails (default 1000). */
  readonly maxWhileRounds?: number;
  /** Put the per-step folders here and keep them (for debugging); by default they go to a temporary folder deleted at the end. */
  readonly workDir?: string;
}

/** What the run reports while it goes; `step` is a display path such as `build`, `build[2]` or `loop#3/toss`. */
export type RunEvent =
  /** Said before anything else: how this run differs from what the workflow asks (items that take turns). */
  | { readonly type: "notice"; readonly lines: readonly string[] }
  | { readonly type: "skipped-features"; readonly lines: readonly string[] }
  /** A line a step wrote (stdout or stderr), secrets masked, as it comes. */
  | { readonly type: "output"; readonly step: string; readonly stream: "stdout" | "stderr"; readonly line: string }
  | { readonly type: "start"; readonly step: string; readonly attempt: number }
  | { readonly type: "retry"; readonly step: string; readonly attempt: number; readonly delay: number; readonly message: string }
  | {
      readonly type: "end";
      readonly step: string;
      readonly status: StepStatus;
      readonly errored?: boolean;
      readonly message?: string;
      /** The end of the step's output (secrets masked), when it failed. */
      readonly log?: string;
      readonly daemon?: boolean;
      /** For a step fanned out by `map`: the end of all its items (each item also has its own event). */
      readonly items?: number;
    }
  | { readonly type: "phase"; readonly phase: "exit-handler"; readonly status: WorkflowStatus }
  | { readonly type: "stopping"; readonly reason: string };

export type RunEvents = (e: RunEvent) => void;

/** Refuses to start: the user must fix what they passed (usage error) or the setup (missing secrets). */
export class RunSetupError extends Error {
  override name = "RunSetupError";
}

const DEFAULT_MAX_ROUNDS = 1000;
const LOG_TAIL_LINES = 20;

/**
 * Run `ir` to completion and return its record.
 * ```ts
 * const rec = await runWorkflow(workflow.ir, { container: "none" }, (e) => console.error(e));
 * rec.status; // "Succeeded"
 * ```
 * Throws `RunInputError` for bad parameters and `RunSetupError` for missing secrets.
 */
export async function runWorkflow(ir: WorkflowIR, options: RunOptions, events: RunEvents = () => {}): Promise<RunRecord> {
  const params = resolveParams(ir, options.params ?? {});
  const env = options.env ?? process.env;
  const secrets = secretLookup(options.secrets, env);
  const missing = missingSecrets(ir, secrets);
  if (missing.length) {
    throw new RunSetupError(`secret values not found (pass --secrets-file or set them in the environment):\n  ${missing.join("\n  ")}`);
  }
  const runner = new Runner(ir, options, events, params, secrets, env);
  return runner.run();
}

/** What a finished step looks like to the steps after it. */
interface Outcome {
  readonly record: StepRecord;
  readonly finished: Finished;
  /** Unmasked values (`result` and declared outputs) of each run that produced them, in item order. */
  readonly values: readonly Readonly<Record<string, string>>[];
  readonly looped: boolean;
}

interface Graph {
  readonly steps: readonly Step[];
  /** Prefix of display paths (`loop#2/`). */
  readonly prefix: string;
  readonly outcomes: Map<string, Outcome>;
  /** Daemons started in this graph, stopped when it ends. */
  readonly daemons: Daemon[];
}

interface Daemon {
  readonly stop: () => void;
  readonly done: Promise<void>;
}

interface GraphResult {
  readonly records: StepRecord[];
  /** Failed steps no other step handles (by depending on their failure). */
  readonly unhandled: { readonly name: string; readonly errored: boolean }[];
}

interface Attempt {
  readonly run: RunOfStep;
  readonly values?: Record<string, string>;
  /** Do not retry (could not start, stopped). */
  readonly final?: boolean;
}

const iso = (ms: number) => new Date(ms).toISOString();

class Runner {
  private readonly slots: Semaphore;
  private readonly pathLocks = new KeyedLocks();
  private readonly root: string;
  private dirCount = 0;
  private phase = new AbortController();
  private stopReason: string | undefined;
  private workflowStatus: WorkflowStatus | undefined;
  private readonly maxRounds: number;

  constructor(
    private readonly ir: WorkflowIR,
    private readonly options: RunOptions,
    private readonly emit: RunEvents,
    private readonly params: Readonly<Record<string, string>>,
    private readonly secrets: SecretLookup,
    private readonly env: Readonly<Record<string, string | undefined>>,
  ) {
    const cpus = availableParallelism();
    const n = Math.max(1, Math.min(options.concurrency ?? cpus, ir.config.parallelism ?? Infinity));
    this.slots = new Semaphore(n);
    this.root = options.workDir ?? mkdtempSync(join(tmpdir(), "couler-run-"));
    this.maxRounds = options.maxWhileRounds ?? DEFAULT_MAX_ROUNDS;
  }

  private get mode(): "host" | "container" {
    return this.options.container === "none" ? "host" : "container";
  }

  async run(): Promise<RunRecord> {
    const startedAt = Date.now();
    const turns = this.mode === "host" ? sharedOutputPaths(this.ir) : [];
    if (turns.length) this.emit({ type: "notice", lines: turns });
    const skipped = [...skippedFeatures(this.ir, this.mode), ...this.whileLimits()];
    if (this.mode === "host" && this.ir.steps.length) skipped.unshift("container images: --no-container runs each step's command on this machine, not in its image");
    if (skipped.length) this.emit({ type: "skipped-features", lines: skipped });

    const stop = (reason: string) => {
      if (this.stopReason !== undefined) return;
      this.stopReason = reason;
      this.emit({ type: "stopping", reason });
      this.phase.abort();
    };
    const onSignal = () => stop("interrupted");
    const onHard = () => {
      stop("interrupted");
      this.phase.abort();
    };
    this.options.signal?.addEventListener("abort", onSignal, { once: true });
    this.options.hardSignal?.addEventListener("abort", onHard, { once: true });
    if (this.options.signal?.aborted) onSignal();
    const deadline =
      this.ir.config.timeout !== undefined ? setTimeout(() => stop(`the workflow timeout of ${this.ir.config.timeout}s was reached`), this.ir.config.timeout * 1000) : undefined;

    let main: GraphResult;
    let exit: GraphResult | undefined;
    let interrupted: string | undefined;
    try {
      main = await this.runGraph({ steps: this.ir.steps, prefix: "", outcomes: new Map(), daemons: [] });
      if (deadline) clearTimeout(deadline);
      interrupted = this.stopReason;
      const mainStatus: WorkflowStatus =
        interrupted !== undefined || main.unhandled.some((u) => !u.errored) ? "Failed" : main.unhandled.length ? "Error" : "Succeeded";
      this.workflowStatus = mainStatus;
      if (this.ir.onExit?.length) {
        // A fresh phase: the exit handler runs even after Ctrl-C; only a hard stop ends it.
        this.stopReason = undefined;
        this.phase = new AbortController();
        if (this.options.hardSignal?.aborted) stop("interrupted");
        this.emit({ type: "phase", phase: "exit-handler", status: mainStatus });
        exit = await this.runGraph({ steps: this.ir.onExit, prefix: "", outcomes: new Map(), daemons: [] });
      }
      const status: WorkflowStatus = mainStatus !== "Succeeded" ? mainStatus : exit?.unhandled.length || this.stopReason ? "Failed" : "Succeeded";
      return {
        workflow: this.ir.name,
        status,
        mainStatus,
        startedAt: iso(startedAt),
        finishedAt: iso(Date.now()),
        params: { ...this.params },
        skippedFeatures: skipped,
        steps: main.records,
        ...(exit ? { onExit: exit.records } : {}),
        ...(interrupted !== undefined || this.stopReason !== undefined ? { interrupted: (interrupted ?? this.stopReason)! } : {}),
      };
    } finally {
      if (deadline) clearTimeout(deadline);
      this.options.signal?.removeEventListener("abort", onSignal);
      this.options.hardSignal?.removeEventListener("abort", onHard);
      if (this.options.workDir === undefined) rmSync(this.root, { recursive: true, force: true });
    }
  }

  /** Parts of `execWhile` steps the loop runner does not apply. */
  private whileLimits(): string[] {
    const out: string[] = [];
    const walk = (steps: readonly Step[]) => {
      for (const s of steps) {
        if (s.kind !== "while") continue;
        if (s.retry) out.push(`retry of execWhile step "${s.name}": a failed round fails the loop, it is not retried`);
        if (s.timeout !== undefined) out.push(`timeout of execWhile step "${s.name}": only the body steps' own timeouts apply`);
        walk(s.body);
      }
    };
    walk(this.ir.steps);
    walk(this.ir.onExit ?? []);
    return out;
  }

  /** Stop the daemons a graph started, once the graph is done (as a template's daemons end with it). */
  private async stopDaemons(daemons: Daemon[]): Promise<void> {
    const list = daemons.splice(0);
    for (const d of list) d.stop();
    await Promise.all(list.map((d) => d.done));
  }

  // ------------------------------------------------------------ graphs

  private async runGraph(g: Graph): Promise<GraphResult> {
    const byName = new Map(g.steps.map((s) => [s.name, s] as const));
    const running = new Map<string, Promise<Outcome>>();
    const visiting = new Set<string>();
    const start = (name: string): Promise<Outcome> => {
      const have = running.get(name);
      if (have) return have;
      if (visiting.has(name)) throw new Error(`internal: dependency cycle through step "${name}"`);
      visiting.add(name);
      const s = byName.get(name)!;
      // Wait for everything the step names in `depends` and every producer it reads from.
      const waits = [...new Set([...depAtoms(s.depends).map((a) => a.step), ...producersOf(s)])].filter((n) => byName.has(n) && n !== name);
      const ups = waits.map(start);
      const p = Promise.all(ups).then(async () => {
        let o: Outcome;
        try {
          o = await this.runStep(s, g);
        } catch (e) {
          // A bug of ours must not leave the other steps' processes running: record it and go on.
          const at = iso(Date.now());
          const message = `internal error: ${e instanceof Error ? e.message : String(e)}`;
          this.emit({ type: "end", step: `${g.prefix}${name}`, status: "failed", errored: true, message });
          o = {
            record: { name, kind: s.kind, status: "failed", errored: true, attempts: 0, startedAt: at, finishedAt: at, message },
            finished: { status: "failed", errored: true, daemoned: false },
            values: [],
            looped: s.loop !== undefined,
          };
        }
        g.outcomes.set(name, o);
        return o;
      });
      running.set(name, p);
      return p;
    };
    await Promise.all(g.steps.map((s) => start(s.name)));
    await this.stopDaemons(g.daemons);
    const records = g.steps.map((s) => g.outcomes.get(s.name)!.record);
    const handled = new Set<string>();
    const mark = (d: Depends | undefined, negated: boolean) => {
      if (!d) return;
      if (d.kind === "on") {
        if (negated || HANDLES_FAILURE.has(d.status)) handled.add(d.step);
      } else if (d.kind === "not") mark(d.of, !negated);
      else d.of.forEach((x) => mark(x, negated));
    };
    for (const s of g.steps) mark(s.depends, false);
    const unhandled = g.steps
      .map((s) => g.outcomes.get(s.name)!)
      .filter((o) => o.record.status === "failed" && !handled.has(o.record.name))
      .map((o) => ({ name: o.record.name, errored: o.record.errored === true }));
    return { records, unhandled };
  }

  private scope(g: Graph, item: Item | undefined): EvalScope {
    const status = this.workflowStatus;
    return {
      workflowName: this.ir.name,
      ...(status !== undefined ? { workflowStatus: status } : {}),
      ...(item ? { item } : {}),
      param: (name) => {
        const v = this.params[name];
        if (v === undefined) throw new EvalError(`unknown parameter "${name}"`);
        return v;
      },
      stepValue: (step, output) => {
        const o = g.outcomes.get(step);
        const what = output === undefined ? "result" : `output "${output}"`;
        if (!o) throw new EvalError(`step "${step}" has not run, so its ${what} is not known`);
        const key = output ?? "result";
        if (o.looped) {
          // Fan-in: Argo-style, a result that is a JSON object stays an object in the list.
          const list = o.values.filter((v) => v[key] !== undefined).map((v) => (output === undefined ? objectOrText(v[key]!) : v[key]!));
          return JSON.stringify(list);
        }
        const v = o.values[0]?.[key];
        if (v === undefined) {
          const why = o.record.status === "succeeded" ? (o.record.daemon ? "it is a daemon" : `it has no ${what}`) : `it ${o.record.status === "failed" ? "failed" : `was ${o.record.status}`}`;
          throw new EvalError(`step "${step}"'s ${what} is not available: ${why}`);
        }
        return v;
      },
    };
  }

  // ------------------------------------------------------------ steps

  private async runStep(s: Step, g: Graph): Promise<Outcome> {
    const display = `${g.prefix}${s.name}`;
    const base = { name: s.name, kind: s.kind };
    const notRun = (status: "omitted" | "failed", message: string, errored = false): Outcome => {
      const at = iso(Date.now());
      const record: StepRecord = { ...base, status, attempts: 0, startedAt: at, finishedAt: at, message, ...(errored ? { errored: true } : {}) };
      this.emit({ type: "end", step: display, status, message, ...(errored ? { errored: true } : {}) });
      return { record, finished: { status, errored, daemoned: false }, values: [], looped: s.loop !== undefined };
    };
    if (this.stopReason !== undefined) return notRun("omitted", `not started: ${this.stopReason}`);
    if (s.depends && !evalDepends(s.depends, (n) => g.outcomes.get(n)!.finished)) {
      return notRun("omitted", `its dependencies were not met (${dependsText(s.depends, g)})`);
    }
    // A value it reads was never produced (its producer failed, was omitted or skipped): the
    // step never runs, like a step whose dependencies were not met; it did not fail.
    const unavailable = this.unavailableInput(s, g);
    if (unavailable !== undefined) return notRun("omitted", unavailable);
    if (!s.loop) {
      const r = await this.runInstance(s, g, undefined, display);
      const record: StepRecord = { ...base, ...r.run };
      return {
        record,
        finished: { status: r.run.status, errored: r.run.errored === true, daemoned: r.run.daemon === true },
        values: r.values ? [r.values] : [],
        looped: false,
      };
    }
    let items: Item[];
    try {
      items = this.loopItems(s, g);
    } catch (e) {
      if (!(e instanceof EvalError)) throw e;
      return notRun("failed", `cannot read the map list: ${e.message}`, true);
    }
    const limit = s.loop.parallelism !== undefined ? new Semaphore(s.loop.parallelism) : undefined;
    const t0 = Date.now();
    const runs = await Promise.all(
      items.map(async (item, index) => {
        const release = await limit?.acquire();
        try {
          const r = await this.runInstance(s, g, item, `${display}[${index}]`);
          const run: ItemRun = { index, item: this.mask(itemText(item)), ...r.run };
          return { run, values: r.values };
        } finally {
          release?.();
        }
      }),
    );
    const list = runs.map((r) => r.run);
    const failed = list.filter((r) => r.status === "failed");
    const succeeded = list.filter((r) => r.status === "succeeded");
    const status: StepStatus = failed.length ? "failed" : list.length && list.every((r) => r.status === "skipped") ? "skipped" : "succeeded";
    const errored = failed.length > 0 && failed.every((r) => r.errored);
    const starts = list.map((r) => r.startedAt).filter((x): x is string => x !== undefined).sort();
    const ends = list.map((r) => r.finishedAt).filter((x): x is string => x !== undefined).sort();
    const record: StepRecord = {
      ...base,
      status,
      ...(errored ? { errored: true } : {}),
      attempts: list.reduce((n, r) => n + r.attempts, 0),
      startedAt: starts[0] ?? iso(t0),
      finishedAt: ends[ends.length - 1] ?? iso(Date.now()),
      ...(failed.length ? { message: `${failed.length} of ${list.length} items failed` } : list.length === 0 ? { message: "the map list is empty" } : {}),
      items: list,
    };
    this.emit({ type: "end", step: display, status, items: list.length, ...(errored ? { errored: true } : {}), ...(record.message ? { message: record.message } : {}) });
    return {
      record,
      finished: { status, errored, daemoned: false, instances: { succeeded: succeeded.length, failed: failed.length, total: list.length } },
      values: runs.filter((r) => r.run.status === "succeeded" && r.values).map((r) => r.values!),
      looped: true,
    };
  }

  /** Why a value `s` reads does not exist, if one does not. */
  private unavailableInput(s: Step, g: Graph): string | undefined {
    for (const r of refsOfStep(s)) {
      if ((r.kind !== "result" && r.kind !== "output") || r.step === s.name) continue;
      const o = g.outcomes.get(r.step);
      // A map's fan-in is the list of its succeeded items: it exists once the items ran.
      if (!o || o.record.status === "succeeded" || (o.looped && o.record.items !== undefined)) continue;
      const what = r.kind === "result" ? `the result of "${r.step}"` : `output "${r.output}" of "${r.step}"`;
      const how = o.record.status === "failed" ? "failed" : `was ${o.record.status}`;
      return `it reads ${what}, which ${how}`;
    }
    return undefined;
  }

  private loopItems(s: Step, g: Graph): Item[] {
    const loop = s.loop!;
    if (loop.kind === "items") return loop.items.map((row) => ({ kind: "row", row }));
    const text = renderValue(loop.source, this.scope(g, undefined));
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch {
      throw new EvalError(`expected a JSON list, got ${JSON.stringify(truncate(text, 200))}`);
    }
    if (!Array.isArray(data)) throw new EvalError(`expected a JSON list, got ${truncate(JSON.stringify(data), 200)}`);
    return data.map((value) => ({ kind: "json", value }));
  }

  private async runInstance(s: Step, g: Graph, item: Item | undefined, display: string): Promise<Attempt> {
    const scope = this.scope(g, item);
    const end = (a: Attempt): Attempt => {
      this.emit({
        type: "end",
        step: display,
        status: a.run.status,
        ...(a.run.errored ? { errored: true } : {}),
        ...(a.run.message !== undefined ? { message: a.run.message } : {}),
        ...(a.run.daemon ? { daemon: true } : {}),
        ...((a as { log?: string }).log ? { log: (a as { log?: string }).log! } : {}),
      });
      // Every run has a start and an end, even one decided without a process (skipped, could not start).
      if (a.run.startedAt === undefined) {
        const t = iso(Date.now());
        return { ...a, run: { ...a.run, startedAt: t, finishedAt: a.run.finishedAt ?? t } };
      }
      return a;
    };
    const at = () => {
      const t = iso(Date.now());
      return { startedAt: t, finishedAt: t };
    };
    const errored = (message: string): Attempt => end({ run: { status: "failed", errored: true, attempts: 0, ...at(), message: this.mask(message) }, final: true });
    if (s.when) {
      try {
        if (!evalCondition(s.when, scope)) return end({ run: { status: "skipped", attempts: 0, ...at(), message: `condition is false: ${conditionText(s.when)}` } });
      } catch (e) {
        if (!(e instanceof EvalError)) throw e;
        return errored(`cannot evaluate its condition: ${e.message}`);
      }
    }
    switch (s.kind) {
      case "resource":
        return errored(`a Kubernetes resource step (kubectl ${s.action}) cannot run locally`);
      case "templateRef":
        return errored(`template "${s.ref.template}" of workflow template "${s.ref.name}" is installed on a cluster; it cannot run locally`);
      case "while":
        return end(await this.runWhile(s, display));
      default:
        return end(await this.runPod(s, scope, display, g.daemons));
    }
  }

  private async runWhile(s: WhileStep, display: string): Promise<Attempt> {
    const t0 = Date.now();
    const rounds: StepRecord[][] = [];
    const done = (status: StepStatus, message?: string, errored = false): Attempt => ({
      run: {
        status,
        ...(errored ? { errored: true } : {}),
        attempts: rounds.length ? 1 : 0,
        startedAt: iso(t0),
        finishedAt: iso(Date.now()),
        ...(message !== undefined ? { message } : {}),
        rounds,
      },
    });
    for (let round = 1; ; round++) {
      if (round > this.maxRounds) {
        return done("failed", `the condition (${conditionText(s.condition)}) still held after ${this.maxRounds} rounds: stopped (raise the limit with --max-rounds)`, true);
      }
      const body: Graph = { steps: s.body, prefix: `${display}#${round}/`, outcomes: new Map(), daemons: [] };
      const r = await this.runGraph(body);
      rounds.push(r.records);
      if (r.unhandled.length) {
        return done("failed", `round ${round} failed: ${r.unhandled.map((u) => `step "${u.name}"`).join(", ")} failed`, r.unhandled.every((u) => u.errored));
      }
      if (this.stopReason !== undefined) return done("failed", `stopped in round ${round}: ${this.stopReason}`);
      let again: boolean;
      try {
        again = evalCondition(s.condition, this.scope(body, undefined));
      } catch (e) {
        if (!(e instanceof EvalError)) throw e;
        return done("failed", `cannot evaluate the loop condition after round ${round}: ${e.message}`, true);
      }
      if (!again) return done("succeeded");
    }
  }

  // ------------------------------------------------------------ processes

  private mask(text: string): string {
    return maskSecrets(text, this.secrets.used);
  }

  private async runPod(s: ContainerStep | ScriptStep, scope: EvalScope, display: string, daemons: Daemon[]): Promise<Attempt> {
    let argv: string[];
    let env: Record<string, string>;
    try {
      const command = (s.command ?? []).map((v) => renderValue(v, scope));
      const args = (s.args ?? []).map((v) => renderValue(v, scope));
      argv = s.kind === "script" ? [...command, "\u0000script", ...args] : [...command, ...args];
      env = {};
      for (const e of s.env ?? []) env[e.name] = renderValue(e.value, scope);
      for (const e of s.secretEnv ?? []) env[e.name] = this.secrets.get(e.secret, e.key, e.name) ?? "";
    } catch (e) {
      if (!(e instanceof EvalError)) throw e;
      return { run: { status: "failed", errored: true, attempts: 0, message: this.mask(`cannot compute its inputs: ${e.message}`) } };
    }
    if (this.mode === "host" && (s.command === undefined || s.command.length === 0)) {
      return {
        run: {
          status: "failed",
          errored: true,
          attempts: 0,
          message: `it has no command: the entrypoint of image ${s.image} is only known to a container runtime (run without --no-container)`,
        },
      };
    }
    const retry = s.retry;
    let first: string | undefined;
    let attempt = 0;
    for (;;) {
      attempt++;
      const a = await this.attempt(s, argv, env, display, attempt, daemons);
      first ??= a.run.startedAt;
      const startedAt = first !== undefined ? { startedAt: first } : {};
      if (a.run.status === "succeeded" || a.final || this.stopReason !== undefined || !retry || attempt > retry.limit) {
        return { ...a, run: { ...a.run, attempts: attempt, ...startedAt } };
      }
      const delay = backoffDelay(retry, attempt);
      const max = retry.backoff?.maxDuration;
      if (max !== undefined && first !== undefined && (Date.now() - Date.parse(first)) / 1000 + delay > max) {
        return {
          ...a,
          run: { ...a.run, attempts: attempt, ...startedAt, message: `${a.run.message ?? "failed"}; no more retries: the backoff maxDuration of ${max}s was reached` },
        };
      }
      this.emit({ type: "retry", step: display, attempt: attempt + 1, delay, message: a.run.message ?? "failed" });
      await sleep(delay, this.phase.signal);
    }
  }

  private newDir(display: string): string {
    const dir = join(this.root, `${++this.dirCount}-${display.replace(/[^A-Za-z0-9_.-]+/g, "_").slice(0, 60)}`);
    mkdirSync(dir, { recursive: true });
    return dir;
  }

  private async attempt(
    s: ContainerStep | ScriptStep,
    argvIn: readonly string[],
    env: Readonly<Record<string, string>>,
    display: string,
    attempt: number,
    daemons: Daemon[],
  ): Promise<Attempt & { log?: string }> {
    const outputs = (s.outputs ?? []).filter((o) => o.path !== undefined);
    // Output paths first, then a slot: a step waiting for a path does not sit on a slot.
    const unlock = this.mode === "host" ? await this.pathLocks.lockAll(outputs.map((o) => o.path!)) : () => {};
    const release = await this.slots.acquire();
    const signal = this.phase.signal;
    let released = false;
    const releaseAll = () => {
      if (released) return;
      released = true;
      unlock();
      release();
    };
    const t0 = Date.now();
    try {
      if (this.stopReason !== undefined) {
        return { run: { status: "failed", attempts: attempt, message: `stopped: ${this.stopReason}` }, final: true };
      }
      const dir = this.newDir(display);
      const ext = s.kind === "script" ? ({ python: ".py", javascript: ".js", shell: ".sh", other: "" } as const)[s.language ?? "other"] : "";
      if (s.kind === "script") writeFileSync(join(dir, `script${ext}`), s.source);
      const before = new Map(outputs.map((o) => [o.path!, fileStamp(o.path!)] as const));
      const containerName = `couler-${process.pid}-${this.dirCount}-${s.name}`.slice(0, 120);
      let spec: { argv: string[]; cwd: string; env: Record<string, string> };
      try {
        spec = this.processSpec(s, argvIn, env, dir, ext, containerName);
      } catch (e) {
        if (!(e instanceof StepStartError)) throw e;
        return { run: { status: "failed", errored: true, attempts: attempt, message: e.message }, final: true };
      }
      this.emit({ type: "start", step: display, attempt });
      let onDaemonReady: (() => void) | undefined;
      const daemonReady = s.daemon ? new Promise<void>((r) => (onDaemonReady = r)) : undefined;
      const runtime = this.options.container === "none" ? undefined : this.options.container.runtime;
      const proc = runProcess({
        argv: spec.argv,
        cwd: spec.cwd,
        env: spec.env,
        onLine: (stream, line) => this.emit({ type: "output", step: display, stream, line: this.mask(line) }),
        ...(s.timeout !== undefined ? { timeout: s.timeout } : {}),
        signal,
        ...(runtime ? { onStop: () => void runQuietly([runtime, "kill", containerName]) } : {}),
        ...(s.daemon
          ? {
              onSpawn: (stop: () => void) => {
                let resolveDone!: () => void;
                const done = new Promise<void>((r) => (resolveDone = r));
                daemons.push({ stop, done });
                void proc.finally(() => resolveDone());
                onDaemonReady!();
              },
            }
          : {}),
      });
      if (daemonReady) {
        const first = await Promise.race([daemonReady.then(() => undefined), proc]);
        if (first === undefined) {
          // Running in the background: free the slot now, clean up when it is stopped.
          void proc.finally(() => {
            if (runtime) void runQuietly([runtime, "rm", "-f", containerName]);
          });
          releaseAll();
          return {
            run: { status: "succeeded", attempts: attempt, startedAt: iso(t0), finishedAt: iso(Date.now()), daemon: true, message: "started in the background; stopped when the graph ended" },
            final: true,
          };
        }
      }
      const r = await proc;
      const end = Date.now();
      const timing = { startedAt: iso(t0), finishedAt: iso(end) };
      const code = r.exitCode !== undefined ? { exitCode: r.exitCode } : {};
      const log = this.tail(r);
      if (r.spawnError !== undefined) {
        if (runtime) await runQuietly([runtime, "rm", "-f", containerName]);
        return { run: { status: "failed", errored: true, attempts: attempt, ...timing, message: this.mask(`could not start: ${r.spawnError}${this.hint(spec.argv[0]!)}`) }, final: true };
      }
      if (r.timedOut || r.aborted || r.exitCode !== 0) {
        if (runtime) await runQuietly([runtime, "rm", "-f", containerName]);
        const message = r.timedOut
          ? `timed out after ${s.timeout}s (process group killed)`
          : r.aborted
            ? `stopped: ${this.stopReason ?? "interrupted"}`
            : r.exitCode !== undefined
              ? `exited with code ${r.exitCode}`
              : "killed by a signal";
        return { run: { status: "failed", attempts: attempt, ...timing, ...code, message }, ...(r.aborted ? { final: true } : {}), ...(log ? { log } : {}) };
      }
      const values: Record<string, string> = { result: stripFinalNewline(r.stdout) };
      const problems: string[] = [];
      for (const o of outputs) {
        const got = runtime ? await this.copyOut(runtime, containerName, o.path!, dir, o.name) : readHostOutput(o.path!, before.get(o.path!));
        if (typeof got === "string") values[o.name] = stripFinalNewline(got);
        else problems.push(`output "${o.name}": ${got.error}`);
      }
      if (runtime) await runQuietly([runtime, "rm", "-f", containerName]);
      for (const o of s.outputs ?? []) if (o.path === undefined) problems.push(`output "${o.name}" is read from a Kubernetes object, which a local run does not have`);
      const shown: Record<string, string> = {};
      for (const [k, v] of Object.entries(values)) shown[k] = this.mask(v);
      if (problems.length) {
        return { run: { status: "failed", errored: true, attempts: attempt, ...timing, ...code, outputs: shown, message: problems.join("; ") }, ...(log ? { log } : {}) };
      }
      return { run: { status: "succeeded", attempts: attempt, ...timing, ...code, outputs: shown }, values };
    } finally {
      releaseAll();
    }
  }

  /** On the host an image's tools are missing; `python` is often only `python3` there. */
  private hint(cmd: string): string {
    if (runtimeOf(this.options)) return "";
    const env = { PATH: this.env.PATH };
    if (cmd === "python" && onPath("python3", env)) return ` (python3 is on PATH: use command ["python3"], or run in a container)`;
    return " (with --no-container the command must exist on this machine)";
  }

  private tail(r: ProcessResult): string {
    const text = [r.stderr.trimEnd(), r.stdout.trimEnd()].filter(Boolean).join("\n");
    if (!text) return "";
    return this.mask(text.split("\n").slice(-LOG_TAIL_LINES).join("\n"));
  }

  private processSpec(
    s: ContainerStep | ScriptStep,
    argvIn: readonly string[],
    env: Readonly<Record<string, string>>,
    dir: string,
    ext: string,
    containerName: string,
  ): { argv: string[]; cwd: string; env: Record<string, string> } {
    const base: Record<string, string> = {};
    for (const [k, v] of Object.entries(this.env)) if (v !== undefined) base[k] = v;
    if (this.options.container === "none") {
      const argv = argvIn.map((a) => (a === "\u0000script" ? join(dir, `script${ext}`) : a));
      let cwd = dir;
      if (s.workingDir !== undefined) {
        if (!isDir(s.workingDir)) throw new StepStartError(`workingDir ${s.workingDir} does not exist on this machine`);
        cwd = s.workingDir;
      }
      return { argv, cwd, env: { ...base, TMPDIR: dir, ...env } };
    }
    const rt = this.options.container.runtime;
    const argv = [rt, "run", "--name", containerName];
    // Values travel in the runtime's environment, never on its command line (secrets stay out of `ps`).
    for (const k of Object.keys(env)) argv.push("-e", k);
    if (s.workingDir !== undefined) argv.push("-w", s.workingDir);
    if (s.imagePullPolicy) argv.push("--pull", { Always: "always", IfNotPresent: "missing", Never: "never" }[s.imagePullPolicy]);
    if (s.kind === "script") argv.push("-v", `${dir}:/couler:ro`);
    const inner = argvIn.map((a) => (a === "\u0000script" ? `/couler/script${ext}` : a));
    const cmdLen = s.command?.length ?? 0;
    if (cmdLen > 0) argv.push("--entrypoint", inner[0]!);
    argv.push(s.image, ...(cmdLen > 0 ? inner.slice(1) : inner));
    return { argv, cwd: dir, env: { ...base, ...env } };
  }

  private async copyOut(runtime: string, container: string, path: string, dir: string, name: string): Promise<string | { error: string }> {
    const dest = join(dir, `output-${name.replace(/[^A-Za-z0-9_-]/g, "_")}`);
    const r = await runProcess({ argv: [runtime, "cp", `${container}:${path}`, dest], cwd: dir, env: process.env as Record<string, string>, timeout: 60 });
    if (r.exitCode !== 0) return { error: `the step did not write ${path}` };
    try {
      return readFileSync(dest, "utf8");
    } catch {
      return { error: `${path} is not a readable file` };
    }
  }
}

class StepStartError extends Error {}

/**
 * On the host, instances that declare the same output path take turns (see the path locks):
 * one line per fanned-out step whose items would otherwise run at once.
 */
export function sharedOutputPaths(ir: WorkflowIR): string[] {
  const out: string[] = [];
  const walk = (steps: readonly Step[]) => {
    for (const s of steps) {
      if (s.kind === "while") walk(s.body);
      if (!s.loop || s.loop.parallelism === 1 || (s.loop.kind === "items" && s.loop.items.length < 2)) continue;
      const paths = (s.outputs ?? []).map((o) => o.path).filter((p): p is string => p !== undefined);
      if (paths.length) out.push(`items of "${s.name}" write ${paths.join(", ")}: they run one at a time (a shared path on this machine; see src/run/README.md)`);
    }
  };
  walk(ir.steps);
  walk(ir.onExit ?? []);
  return out;
}

function runtimeOf(o: RunOptions): string | undefined {
  return o.container === "none" ? undefined : o.container.runtime;
}

function fileStamp(path: string): string | undefined {
  try {
    const st = statSync(path, { bigint: true });
    return `${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
  } catch {
    return undefined;
  }
}

/** A declared output on the host: present, and written by this attempt (a file left from before does not count). */
function readHostOutput(path: string, before: string | undefined): string | { error: string } {
  const now = fileStamp(path);
  if (now === undefined) return { error: `the step did not write ${path}` };
  if (before !== undefined && now === before) return { error: `the step did not write ${path} (an older file is there)` };
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    return { error: `cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}` };
  }
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function stripFinalNewline(s: string): string {
  return s.endsWith("\r\n") ? s.slice(0, -2) : s.endsWith("\n") ? s.slice(0, -1) : s;
}

function truncate(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n)}…` : s;
}

function objectOrText(s: string): unknown {
  if (!/^\s*\{/.test(s)) return s;
  try {
    const v: unknown = JSON.parse(s);
    return v !== null && typeof v === "object" && !Array.isArray(v) ? v : s;
  } catch {
    return s;
  }
}

/** Seconds to wait before retry number `attempt` (1 = the first retry): `duration × factor^(attempt-1)`. */
export function backoffDelay(retry: Retry, attempt: number): number {
  const b = retry.backoff;
  if (!b) return 0;
  return b.duration * (b.factor ?? 1) ** (attempt - 1);
}

function dependsText(d: Depends, g: Graph): string {
  const atoms = depAtoms(d);
  const seen = new Set<string>();
  const parts: string[] = [];
  for (const a of atoms) {
    const k = `${a.step}.${a.status}`;
    if (seen.has(k)) continue;
    seen.add(k);
    const f = g.outcomes.get(a.step)?.finished;
    parts.push(`${a.status === "ok" ? a.step : k}: ${f ? (f.errored ? "errored" : f.status) : "?"}`);
  }
  return parts.join(", ");
}

export { RunInputError };
