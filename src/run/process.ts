/**
 * Running one local process the way a container runs: in its own process group, so a
 * timeout or Ctrl-C stops everything it started, and when the main process exits
 * whatever it left in the background is stopped too (as when a container ends).
 */
import { spawn } from "node:child_process";

export interface ProcessSpec {
  readonly argv: readonly string[];
  readonly cwd: string;
  readonly env: Readonly<Record<string, string>>;
  /** Seconds; undefined: no limit. */
  readonly timeout?: number;
  /** Fired to stop the process (Ctrl-C, workflow deadline). */
  readonly signal?: AbortSignal;
  /** Called once the process is running, with a function that stops it (used by daemons). */
  readonly onSpawn?: (stop: () => void) => void;
  /** Extra clean-up when stopping (e.g. `docker rm -f` for a container). */
  readonly onStop?: () => void;
  /** Called with each complete line the process writes (the last one at exit, even without a newline). */
  readonly onLine?: (stream: "stdout" | "stderr", line: string) => void;
}

export interface ProcessResult {
  /** Exit code, or undefined when killed by a signal or when it could not start. */
  readonly exitCode?: number;
  readonly stdout: string;
  readonly stderr: string;
  /** Could not be started (no such command, permission denied). */
  readonly spawnError?: string;
  readonly timedOut: boolean;
  /** Stopped by `signal`. */
  readonly aborted: boolean;
}

/** Seconds between SIGTERM and SIGKILL when stopping a process group. */
export const KILL_GRACE_SECONDS = 2;
/** Captured output beyond this is dropped (the start is kept), so a chatty step cannot exhaust memory. */
const MAX_CAPTURE = 16 * 1024 * 1024;

function killGroup(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pid, sig);
  } catch {
    // already gone
  }
}

/**
 * Run `spec.argv` to completion.
 * ```ts
 * const r = await runProcess({ argv: ["sh", "-c", "echo hi"], cwd: "/tmp", env: {} });
 * r.stdout; // "hi\n"
 * ```
 */
export function runProcess(spec: ProcessSpec): Promise<ProcessResult> {
  return new Promise((resolve) => {
    const [cmd, ...args] = spec.argv;
    if (cmd === undefined) {
      resolve({ stdout: "", stderr: "", spawnError: "empty command", timedOut: false, aborted: false });
      return;
    }
    if (spec.signal?.aborted) {
      resolve({ stdout: "", stderr: "", spawnError: "stopped before it started", timedOut: false, aborted: true });
      return;
    }
    const child = spawn(cmd, args, { cwd: spec.cwd, env: { ...spec.env }, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outLen = 0;
    let errLen = 0;
    const lines = spec.onLine ? { stdout: lineSplitter("stdout", spec.onLine), stderr: lineSplitter("stderr", spec.onLine) } : undefined;
    child.stdout.on("data", (b: Buffer) => {
      if (outLen < MAX_CAPTURE) out.push(b);
      outLen += b.length;
      lines?.stdout.push(b);
    });
    child.stderr.on("data", (b: Buffer) => {
      if (errLen < MAX_CAPTURE) err.push(b);
      errLen += b.length;
      lines?.stderr.push(b);
    });
    let timedOut = false;
    let aborted = false;
    let exited = false;
    let spawnError: string | undefined;
    let exitCode: number | undefined;
    let killTimer: NodeJS.Timeout | undefined;
    const stop = () => {
      if (exited || child.pid === undefined) return;
      spec.onStop?.();
      killGroup(child.pid, "SIGTERM");
      killTimer ??= setTimeout(() => child.pid !== undefined && killGroup(child.pid, "SIGKILL"), KILL_GRACE_SECONDS * 1000);
    };
    const timer =
      spec.timeout !== undefined
        ? setTimeout(() => {
            timedOut = true;
            stop();
          }, spec.timeout * 1000)
        : undefined;
    const onAbort = () => {
      aborted = true;
      stop();
    };
    spec.signal?.addEventListener("abort", onAbort, { once: true });
    child.on("spawn", () => spec.onSpawn?.(stop));
    child.on("error", (e: NodeJS.ErrnoException) => {
      spawnError = e.code === "ENOENT" ? `command not found: ${cmd}` : e.code === "EACCES" ? `permission denied: ${cmd}` : e.message;
    });
    child.on("exit", (code) => {
      exited = true;
      exitCode = code ?? undefined;
      // The main process is gone: like a container ending, take its background children with it.
      if (child.pid !== undefined) killGroup(child.pid, "SIGKILL");
    });
    child.on("close", () => {
      lines?.stdout.end();
      lines?.stderr.end();
      if (timer) clearTimeout(timer);
      if (killTimer) clearTimeout(killTimer);
      spec.signal?.removeEventListener("abort", onAbort);
      resolve({
        ...(exitCode !== undefined && spawnError === undefined ? { exitCode } : {}),
        stdout: Buffer.concat(out).toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8"),
        ...(spawnError !== undefined ? { spawnError } : {}),
        timedOut,
        aborted,
      });
    });
  });
}

/** Cuts a byte stream into lines (UTF-8 safe across chunks); `end` flushes a last partial line. */
function lineSplitter(stream: "stdout" | "stderr", onLine: (stream: "stdout" | "stderr", line: string) => void) {
  const decoder = new TextDecoder();
  let pending = "";
  const emit = (text: string) => {
    pending += text;
    let nl: number;
    while ((nl = pending.indexOf("\n")) >= 0) {
      onLine(stream, pending.slice(0, nl).replace(/\r$/, ""));
      pending = pending.slice(nl + 1);
    }
  };
  return {
    push: (b: Buffer) => emit(decoder.decode(b, { stream: true })),
    end: () => {
      emit(decoder.decode());
      if (pending !== "") onLine(stream, pending.replace(/\r$/, ""));
      pending = "";
    },
  };
}
