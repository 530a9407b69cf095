/**
 * What a run ends with, engine-neutral, and how two runs are compared.
 *
 * `couler run` (the IR's meaning) and each engine replay (test/replay/<engine>/, which runs the
 * emitted file the way that engine runs it) both end in a `RunOutcome`. The check
 * (test/replay.test.ts) compares them with `diffOutcomes`: the workflow's final status, each
 * step's status, each step's outputs (`result` and declared outputs, as text) and, for a
 * fanned-out step, each item's status and outputs in item order. Fan-in lists are compared
 * through the steps that read them (their own outputs echo what they received).
 *
 * Steps are keyed by their IR names: a replay maps the target's names back (the read-back
 * readers' `NameResolver` does the same for the graph).
 */
import type { RunRecord, StepRecord, WorkflowStatus } from "../../src/run/record.js";
import type { OutputFile } from "../../backends/backend.js";
import type { Diagnostic } from "../../src/diagnostics.js";
import type { WorkflowIR } from "../../src/ir/types.js";

export type OutcomeStatus = "succeeded" | "failed" | "skipped" | "omitted";

export interface ItemOutcome {
  readonly status: OutcomeStatus;
  readonly outputs?: Readonly<Record<string, string>>;
}

export interface StepOutcome {
  readonly status: OutcomeStatus;
  /** `result` (stdout without its final newline) and declared outputs by name, for a step that succeeded. */
  readonly outputs?: Readonly<Record<string, string>>;
  /** A fanned-out step: each item, in item order. */
  readonly items?: readonly ItemOutcome[];
}

export interface RunOutcome {
  /** The workflow's final status, after its exit handler. */
  readonly status: WorkflowStatus;
  /** Main-graph steps (a while step counts as one step: its status), by IR name. */
  readonly steps: Readonly<Record<string, StepOutcome>>;
  /** Exit-handler steps, by IR name (absent or empty when there is no handler). */
  readonly onExit?: Readonly<Record<string, StepOutcome>>;
}

/** One engine, replayed: runs the emitted files as that engine runs them. */
export interface Replay {
  readonly target: string;
  /** Backend options to compile with (default: none). */
  readonly options?: Readonly<Record<string, string>>;
  /**
   * Run the emitted files. `params` gives every workflow parameter's value (defaults applied);
   * `env` is the environment each step process starts from (PATH, secrets as env vars).
   */
  run(files: readonly OutputFile[], ir: WorkflowIR, ctx: ReplayContext): Promise<RunOutcome>;
  /**
   * Differences from `couler run` that the backend warns about at compile time. The check
   * accepts a difference line matching `match` only when the compile diagnostics hold a
   * warning matching `warning`; anything else is a failure (a silent difference is a bug).
   */
  readonly knownDifferences: readonly KnownDifference[];
}

export interface ReplayContext {
  readonly params: Readonly<Record<string, string>>;
  readonly env: Readonly<Record<string, string>>;
  /** Secret values by secret name and key (the same ones `couler run` gets). */
  readonly secrets: Readonly<Record<string, Readonly<Record<string, string>>>>;
}

export interface KnownDifference {
  readonly match: RegExp;
  /** The compile-time warning that names this difference. */
  readonly warning: RegExp;
  /** When set, the difference line is accepted only if this holds for it and the matching warning (e.g. the warning names the step). */
  readonly covers?: (diff: string, warning: string) => boolean;
  readonly why: string;
}

function stepOutcome(s: StepRecord): StepOutcome {
  const outputs = s.status === "succeeded" && s.outputs && Object.keys(s.outputs).length ? { ...s.outputs } : undefined;
  const items = s.items?.map((i) => ({ status: i.status, ...(i.status === "succeeded" && i.outputs && Object.keys(i.outputs).length ? { outputs: { ...i.outputs } } : {}) }));
  return { status: s.status, ...(outputs ? { outputs } : {}), ...(items ? { items } : {}) };
}

/** The outcome of a `couler run` record. */
export function outcomeOfRecord(rec: RunRecord): RunOutcome {
  const steps: Record<string, StepOutcome> = {};
  for (const s of rec.steps) steps[s.name] = stepOutcome(s);
  const onExit: Record<string, StepOutcome> = {};
  for (const s of rec.onExit ?? []) onExit[s.name] = stepOutcome(s);
  return { status: rec.status, steps, ...(rec.onExit?.length ? { onExit } : {}) };
}

export interface DiffOptions {
  /** Compare outputs only for these steps (default: every step). Steps whose output varies run to run (random) are left out by the caller. */
  readonly outputsOf?: (step: string) => boolean;
}

/**
 * Differences between the IR's run (`want`, from couler run) and an engine's (`got`), one line
 * each, e.g. `step "b": omitted by couler run, succeeded on argo`.
 */
export function diffOutcomes(want: RunOutcome, got: RunOutcome, target: string, opts: DiffOptions = {}): string[] {
  const out: string[] = [];
  if (want.status !== got.status) out.push(`workflow: ${want.status} by couler run, ${got.status} on ${target}`);
  const section = (label: string, a: Readonly<Record<string, StepOutcome>>, b: Readonly<Record<string, StepOutcome>>) => {
    for (const name of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
      const x = a[name];
      const y = b[name];
      const what = `${label}"${name}"`;
      if (!x || !y) {
        out.push(`${what}: ${x ? x.status : "absent"} by couler run, ${y ? y.status : "absent"} on ${target}`);
        continue;
      }
      if (x.status !== y.status) {
        out.push(`${what}: ${x.status} by couler run, ${y.status} on ${target}`);
        continue;
      }
      if (opts.outputsOf && !opts.outputsOf(name)) continue;
      for (const k of [...new Set([...Object.keys(x.outputs ?? {}), ...Object.keys(y.outputs ?? {})])].sort()) {
        const u = x.outputs?.[k];
        const v = y.outputs?.[k];
        if (u !== v) out.push(`${what} output ${k}: ${JSON.stringify(u)} by couler run, ${JSON.stringify(v)} on ${target}`);
      }
      const xi = x.items ?? [];
      const yi = y.items ?? [];
      // A fan-out skipped as a whole: engines that skip the task make no instances, couler run
      // records each item skipped; both mean the same.
      const allSkipped = (l: readonly ItemOutcome[]) => l.every((i) => i.status === "skipped");
      if (x.status === "skipped" && (xi.length === 0 || yi.length === 0) && allSkipped(xi) && allSkipped(yi)) continue;
      if (xi.length !== yi.length) out.push(`${what}: ${xi.length} items by couler run, ${yi.length} on ${target}`);
      else
        xi.forEach((i, n) => {
          const j = yi[n]!;
          if (i.status !== j.status) out.push(`${what}[${n}]: ${i.status} by couler run, ${j.status} on ${target}`);
          else
            for (const k of [...new Set([...Object.keys(i.outputs ?? {}), ...Object.keys(j.outputs ?? {})])].sort())
              if (i.outputs?.[k] !== j.outputs?.[k]) out.push(`${what}[${n}] output ${k}: ${JSON.stringify(i.outputs?.[k])} by couler run, ${JSON.stringify(j.outputs?.[k])} on ${target}`);
        });
    }
  };
  section("step ", want.steps, got.steps);
  section("exit step ", want.onExit ?? {}, got.onExit ?? {});
  return out;
}

/**
 * Split differences into the ones a known difference accepts (its warning is among the
 * compile diagnostics) and the rest.
 */
export function triage(diffs: readonly string[], known: readonly KnownDifference[], diagnostics: readonly Diagnostic[]): { accepted: string[]; unexplained: string[] } {
  const warnings = diagnostics.filter((d) => d.severity === "warning").map((d) => d.message);
  const accepted: string[] = [];
  const unexplained: string[] = [];
  for (const d of diffs) {
    const k = known.find((k) => k.match.test(d) && warnings.some((w) => k.warning.test(w) && (!k.covers || k.covers(d, w))));
    (k ? accepted : unexplained).push(d);
  }
  return { accepted, unexplained };
}
