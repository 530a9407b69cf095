/**
 * Running one container of a replayed engine as a local process, the way `couler run
 * --no-container` does: the argv the engine would hand the container runtime, run in its own
 * process group, in a private temporary folder that is its working directory and `TMPDIR`.
 *
 * Replays run one container at a time (the engines' parallelism does not change how these
 * workflows end, and one at a time keeps output files at fixed paths such as `/tmp/acc` apart).
 * Before a container starts, the paths its engine would give it fresh (declared output files)
 * are removed, as a new pod's filesystem would not have them.
 *
 * Engine-internal paths (Argo's `/argo/staging/script`, Tekton's `/tekton/results/x`, a
 * GitHub runner's `$GITHUB_OUTPUT`) are mapped into the private folder by the replay; the
 * argv is otherwise exactly the engine's.
 */
import { mkdirSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runProcess, type ProcessResult } from "../../src/run/process.js";

export interface LocalSpec {
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  /** Seconds per attempt; undefined: no limit. */
  readonly timeout?: number;
  /** Absolute paths a fresh container would not have (removed before the start). */
  readonly fresh?: readonly string[];
  /** Run in this folder instead of a new private one (e.g. a replay that prepared files there). */
  readonly cwd?: string;
}

export interface LocalResult extends ProcessResult {
  /** The private folder the process ran in (its cwd and TMPDIR); removed by `cleanup()`. */
  readonly dir: string;
}

let queue: Promise<unknown> = Promise.resolve();

/**
 * One lock for every test process on this machine: `node --test` runs test files in parallel,
 * and the workflows they run write fixed paths such as `/tmp/acc`.
 */
const LOCK = join(tmpdir(), "couler-replay-serial.lock");
/** A lock older than this was left by a process that died. */
const STALE_MS = 10 * 60_000;

async function lock(): Promise<void> {
  for (;;) {
    try {
      mkdirSync(LOCK);
      return;
    } catch {
      try {
        if (Date.now() - statSync(LOCK).mtimeMs > STALE_MS) rmSync(LOCK, { recursive: true, force: true });
      } catch {
        // released meanwhile
      }
      await new Promise((r) => setTimeout(r, 15));
    }
  }
}

/** Run `fn` when every earlier `serial` call, in this process and in other test processes, has finished. */
export function serial<T>(fn: () => Promise<T>): Promise<T> {
  const locked = async () => {
    await lock();
    try {
      return await fn();
    } finally {
      rmSync(LOCK, { recursive: true, force: true });
    }
  };
  const next = queue.then(locked, locked);
  queue = next.catch(() => undefined);
  return next;
}

const dirs: string[] = [];

/** A new private folder (removed by `cleanup()`). */
export function privateDir(prefix = "couler-replay-"): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}

/** Remove every private folder made so far. */
export function cleanup(): void {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

/**
 * Run one container's argv. Call it inside `serial` when the caller reads files at fixed paths
 * afterwards; it does not queue by itself.
 * ```ts
 * const r = await runLocal({ argv: ["sh", "-c", "echo hi"], env: { PATH: process.env.PATH! } });
 * r.stdout; // "hi\n"
 * ```
 */
export async function runLocal(spec: LocalSpec): Promise<LocalResult> {
  const dir = spec.cwd ?? privateDir();
  for (const p of spec.fresh ?? []) rmSync(p, { recursive: true, force: true });
  const r = await runProcess({
    argv: spec.argv,
    cwd: dir,
    env: { ...spec.env, TMPDIR: dir },
    ...(spec.timeout !== undefined ? { timeout: spec.timeout } : {}),
  });
  return { ...r, dir };
}

/** Stdout without its final newline: `couler run`'s `result` (a replay applies its own engine's rule). */
export function resultText(stdout: string): string {
  return stdout.endsWith("\n") ? stdout.slice(0, -1) : stdout;
}
