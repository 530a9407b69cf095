/**
 * Showing a run as it goes: plain lines (`[12.3s] step build: succeeded`) for logs and
 * pipes, or a live view on a terminal: the same lines scroll above a footer listing the
 * running steps with their elapsed time and the counts so far. What steps write shows as
 * it comes, prefixed with the step's name as docker compose does (`build    | line`),
 * unless `quiet`; a failed step then shows the end of its output instead.
 */
import type { RunEvent } from "./interpreter.js";
import type { RunRecord } from "./record.js";

export interface Progress {
  readonly onEvent: (e: RunEvent) => void;
  /** Print the summary line and stop redrawing. */
  finish(record: RunRecord): void;
}

/** Cut `line` to `width` visible characters (ANSI colour codes take no room). */
function cut(line: string, width: number): string {
  let shown = 0;
  let out = "";
  for (let i = 0; i < line.length; i++) {
    const m = /^\x1b\[[0-9;]*[A-Za-z]/.exec(line.slice(i));
    if (m) {
      out += m[0];
      i += m[0].length - 1;
      continue;
    }
    if (shown >= width) return `${out}\x1b[0m`;
    out += line[i];
    shown++;
  }
  return out;
}

const secs = (ms: number) => `${(ms / 1000).toFixed(1)}s`;

export interface ProgressOptions {
  live: boolean;
  /** Hide what steps write (a failed step still shows the end of its output). */
  quiet?: boolean;
  /** Width of the step-name column before `|`: the longest step name, so the bars line up. */
  nameWidth?: number;
  now?: () => number;
  columns?: number;
}

/** `showLog`: print a failed step's log tail (its output was not already shown as it came). */
function lineFor(e: RunEvent, showLog: (step: string) => boolean): string[] {
  switch (e.type) {
    case "notice":
      return e.lines.map((l) => `couler: ${l}`);
    case "output":
      return [];
    case "skipped-features":
      return ["couler: this local run does not honour:", ...e.lines.map((l) => `  - ${l}`)];
    case "start":
      return [`step ${e.step}: started${e.attempt > 1 ? ` (attempt ${e.attempt})` : ""}`];
    case "retry":
      return [`step ${e.step}: ${e.message}; retrying (attempt ${e.attempt}) in ${e.delay}s`];
    case "end": {
      const what = e.status === "failed" && e.errored ? "failed (error)" : e.daemon ? "running in the background" : e.status;
      const out = [`step ${e.step}: ${what}${e.items !== undefined ? ` (${e.items} item${e.items === 1 ? "" : "s"})` : ""}${e.message && !e.daemon ? `: ${e.message}` : ""}`];
      if (e.log && showLog(e.step)) for (const l of e.log.split("\n")) out.push(`    | ${l}`);
      return out;
    }
    case "phase":
      return [`exit handler: running (workflow status ${e.status})`];
    case "stopping":
      return [`stopping: ${e.reason}; killing running steps`];
  }
}

function summary(r: RunRecord, elapsed: number): string {
  const counts = new Map<string, number>();
  for (const s of [...r.steps, ...(r.onExit ?? [])]) counts.set(s.status, (counts.get(s.status) ?? 0) + 1);
  const parts = ["succeeded", "failed", "skipped", "omitted"].filter((k) => counts.get(k)).map((k) => `${counts.get(k)} ${k}`);
  return `workflow ${r.workflow}: ${r.status} in ${secs(elapsed)} (${parts.join(", ")})`;
}

/**
 * A reporter writing through `write`; `live` redraws a footer with ANSI escapes.
 * ```ts
 * const p = progress((t) => process.stderr.write(t), { live: process.stderr.isTTY });
 * const rec = await runWorkflow(ir, opts, p.onEvent); p.finish(rec);
 * ```
 */
export function progress(write: (text: string) => void, opts: ProgressOptions): Progress {
  const now = opts.now ?? Date.now;
  const t0 = now();
  const quiet = opts.quiet === true;
  const stamp = () => `[${secs(now() - t0)}]`;
  let nameWidth = opts.nameWidth ?? 0;
  // Steps whose output was shown as it came: their failure needs no log tail.
  const shown = new Set<string>();
  const showLog = (step: string) => quiet || !shown.has(step);
  const prefixed = (e: { step: string; line: string }) => {
    shown.add(e.step);
    nameWidth = Math.max(nameWidth, e.step.length);
    return `${e.step.padEnd(nameWidth)} | ${e.line}\n`;
  };
  if (!opts.live) {
    return {
      onEvent: (e) => {
        if (e.type === "output") {
          if (!quiet) write(prefixed(e));
          return;
        }
        const lines = lineFor(e, showLog);
        if (e.type === "skipped-features" || e.type === "notice") write(`${lines.join("\n")}\n`);
        else write(lines.map((l, i) => (i === 0 ? `${stamp()} ${l}` : l)).join("\n") + "\n");
      },
      finish: (r) => write(`${summary(r, now() - t0)}\n`),
    };
  }
  const running = new Map<string, number>();
  const done = { succeeded: 0, failed: 0, skipped: 0, omitted: 0 };
  let footer = 0;
  const clear = () => {
    if (footer) write(`\x1b[${footer}A\x1b[J`);
    footer = 0;
  };
  const draw = () => {
    const lines: string[] = [];
    const list = [...running].sort((a, b) => a[1] - b[1]);
    for (const [name, t] of list.slice(0, 8)) lines.push(`  \x1b[36mrunning\x1b[0m ${name} (${secs(now() - t)})`);
    if (list.length > 8) lines.push(`  … and ${list.length - 8} more running`);
    lines.push(
      `  ${secs(now() - t0)}: ${running.size} running, ${done.succeeded} succeeded, ${done.failed} failed, ${done.skipped} skipped, ${done.omitted} omitted`,
    );
    // A wrapped line would throw off the cursor arithmetic: cut each to the terminal's width.
    const width = Math.max(20, (opts.columns ?? 80) - 1);
    write(`${lines.map((l) => cut(l, width)).join("\n")}\n`);
    footer = lines.length;
  };
  const timer = setInterval(() => {
    clear();
    draw();
  }, 250);
  timer.unref();
  const color = (l: string) =>
    l.replace(/: (succeeded|failed \(error\)|failed|skipped|omitted)/, (_m, s: string) => {
      const c = s.startsWith("failed") ? 31 : s === "succeeded" ? 32 : 33;
      return `: \x1b[${c}m${s}\x1b[0m`;
    });
  return {
    onEvent: (e) => {
      if (e.type === "output") {
        if (quiet) return;
        clear();
        // Only the footer must fit the terminal: a long output line may wrap above it.
        shown.add(e.step);
        nameWidth = Math.max(nameWidth, e.step.length);
        write(`\x1b[2m${e.step.padEnd(nameWidth)} |\x1b[0m ${e.line}\n`);
        draw();
        return;
      }
      if (e.type === "start") running.set(e.step, now());
      if (e.type === "end") {
        running.delete(e.step);
        if (e.items === undefined) done[e.status]++;
      }
      clear();
      // Starts are visible in the footer; only outcomes scroll.
      if (e.type !== "start") {
        const lines = lineFor(e, showLog);
        const bare = e.type === "skipped-features" || e.type === "notice";
        write(lines.map((l, i) => (i === 0 && !bare ? `${stamp()} ${color(l)}` : l)).join("\n") + "\n");
      }
      draw();
    },
    finish: (r) => {
      clearInterval(timer);
      clear();
      write(`${summary(r, now() - t0)}\n`);
    },
  };
}
