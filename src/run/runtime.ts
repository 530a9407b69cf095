/** Container runtimes (`docker`, `podman`) and the small concurrency helpers the interpreter needs. */
import { execFile } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";

/** The first of `names` found on PATH as an executable file. */
export function onPath(name: string, env: Readonly<Record<string, string | undefined>> = process.env): string | undefined {
  for (const dir of (env.PATH ?? "").split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

export interface RuntimeProbe {
  /** `docker` or `podman`, when one answered. */
  readonly runtime?: string;
  /** Why none can be used: not on PATH, or on PATH but not answering (daemon down). */
  readonly why: string;
}

/** Find a usable container runtime: on PATH and answering `info` within a few seconds. */
export async function probeRuntime(env: Readonly<Record<string, string | undefined>> = process.env): Promise<RuntimeProbe> {
  const reasons: string[] = [];
  for (const name of ["docker", "podman"]) {
    if (!onPath(name, env)) continue;
    const ok = await new Promise<string | undefined>((resolve) => {
      execFile(name, ["info"], { timeout: 8000, env: env as NodeJS.ProcessEnv }, (err, _out, stderr) =>
        resolve(err ? (stderr.trim().split("\n").pop() ?? err.message) : undefined),
      );
    });
    if (ok === undefined) return { runtime: name, why: "" };
    reasons.push(`${name} is on PATH but not usable (${ok})`);
  }
  return { why: reasons.length ? reasons.join("; ") : "neither docker nor podman is on PATH" };
}

/** Run a runtime command and ignore its outcome (clean-up). */
export function runQuietly(argv: readonly string[]): Promise<void> {
  return new Promise((resolve) => {
    execFile(argv[0]!, argv.slice(1), { timeout: 30000 }, () => resolve());
  });
}

/** At most `n` holders at once; waiters are served in arrival order. */
export class Semaphore {
  private active = 0;
  private readonly queue: (() => void)[] = [];
  constructor(private readonly n: number) {}

  async acquire(): Promise<() => void> {
    if (this.active >= this.n) await new Promise<void>((r) => this.queue.push(r));
    else this.active++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.queue.shift();
      if (next) next();
      else this.active--;
    };
  }
}

/** Exclusive locks by key (host paths a step writes its outputs to). */
export class KeyedLocks {
  private readonly tails = new Map<string, Promise<void>>();

  /** Lock every key (sorted, so two holders of overlapping sets cannot deadlock); returns the release. */
  async lockAll(keys: readonly string[]): Promise<() => void> {
    const releases: (() => void)[] = [];
    for (const k of [...new Set(keys)].sort()) {
      const prev = this.tails.get(k) ?? Promise.resolve();
      let release!: () => void;
      const mine = new Promise<void>((r) => (release = r));
      const tail = prev.then(() => mine);
      this.tails.set(k, tail);
      await prev;
      releases.push(() => {
        release();
        if (this.tails.get(k) === tail) this.tails.delete(k);
      });
    }
    return () => releases.forEach((r) => r());
  }
}

/** Wait `seconds`, or less when `signal` fires. */
export function sleep(seconds: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, seconds * 1000);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}
