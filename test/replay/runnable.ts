/**
 * Which workflows the replay check can run on this machine, and the inputs it gives them.
 *
 * A workflow is runnable when every step is a container or script step with its own command
 * (an image's entrypoint cannot run without the image) that this machine has, or a while loop
 * of such steps, and it moves no artifacts (no object store here). Parameters take their defaults; secret keys get
 * fixed test values, the same for `couler run` and every replay.
 *
 * Python steps that draw random numbers (coin flips) are made repeatable: a `sitecustomize.py`
 * on `PYTHONPATH` seeds `random` from a counter file that each run starts afresh, so the n-th
 * Python process of `couler run` and the n-th of a replay draw the same numbers. `python` and
 * `python3` are put first on PATH as links to the real interpreter, so a version manager's
 * shim script (pyenv: 0.2 s a start) does not run for every step.
 *
 * Time is compressed alike for `couler run` and every replay: a `sleep` first on PATH (and
 * Python's `time.sleep`) sleeps a hundredth of what it is asked (`sleep 30` in a fixture takes 0.3 s), so a fixture that waits
 * does not cost the suite half a minute per engine.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { allSteps } from "../../src/ir/graph.js";
import { onPath } from "../../src/run/runtime.js";
import type { Step, WorkflowIR } from "../../src/ir/types.js";

/** Why `ir` cannot be replayed here, or undefined when it can. */
export function notRunnable(ir: WorkflowIR): string | undefined {
  const steps: Step[] = [...allSteps(ir)];
  for (const s of steps) {
    if (s.kind === "resource" || s.kind === "templateRef") return `step "${s.name}" is a ${s.kind} step`;
    if (s.kind === "container" && !s.command?.length) return `step "${s.name}" runs its image's entrypoint`;
    // a command only its image has (cowsay): how it ends here says nothing about the engines
    const cmd = (s.kind === "container" || s.kind === "script") && typeof s.command?.[0] === "string" ? s.command[0] : undefined;
    if (cmd !== undefined && !cmd.includes("/") && !onPath(cmd)) return `step "${s.name}" runs ${cmd}, which only its image has`;
    if (cmd === "npx") return `step "${s.name}" runs npx, which downloads packages`;
    if ((s.kind === "container" || s.kind === "script") && (s.inputArtifacts?.length || s.outputArtifacts?.length)) return `step "${s.name}" moves artifacts`;
  }
  const noDefault = ir.params.filter((p) => p.default === undefined);
  if (noDefault.length) return `parameter "${noDefault[0]!.name}" has no default`;
  return undefined;
}

/** Parameter values: the defaults. */
export function paramsOf(ir: WorkflowIR): Record<string, string> {
  return Object.fromEntries(ir.params.map((p) => [p.name, String(p.default ?? "")]));
}

/** A fixed value for every secret key the workflow reads. */
export function secretsOf(ir: WorkflowIR): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  for (const s of allSteps(ir)) {
    if (s.kind !== "container" && s.kind !== "script") continue;
    for (const e of s.secretEnv ?? []) (out[e.secret] ??= {})[e.key] = `test-${e.secret}-${e.key}`;
  }
  return out;
}

/**
 * An environment whose Python seeds `random` per process from a counter that `reset()` restarts.
 * `bin` is a folder to put first on PATH (holding `python` and `python3`).
 */
export function seededPython(): { env: Record<string, string>; bin: string; dir: string; reset: () => void } {
  const dir = mkdtempSync(join(tmpdir(), "couler-seed-"));
  const bin = join(dir, "bin");
  mkdirSync(bin);
  try {
    const exe = execFileSync("python3", ["-c", "import sys; print(sys.executable)"], { encoding: "utf8" }).trim();
    for (const n of ["python", "python3"]) symlinkSync(exe, join(bin, n));
  } catch {
    // no python3: steps that need it fail alike under couler run and every replay
  }
  writeFileSync(join(bin, "sleep"), '#!/bin/sh\nexec /bin/sleep "$(awk -v s="${1:-0}" \'BEGIN { sub(/s$/, "", s); printf "%.3f", s / 100 }\')"\n', { mode: 0o755 });
  const counter = join(dir, "counter");
  writeFileSync(
    join(dir, "sitecustomize.py"),
    [
      "import os, random",
      "_p = os.environ.get('COULER_TEST_SEED_FILE')",
      "if _p:",
      "    try:",
      "        _n = int(open(_p).read() or '0')",
      "    except OSError:",
      "        _n = 0",
      "    open(_p, 'w').write(str(_n + 1))",
      "    random.seed(_n)",
      "    import time",
      "    _sleep = time.sleep",
      "    time.sleep = lambda s: _sleep(s / 100)",
      "",
    ].join("\n"),
  );
  const reset = () => writeFileSync(counter, "0");
  reset();
  return { env: { PYTHONPATH: dir, COULER_TEST_SEED_FILE: counter, PYTHONDONTWRITEBYTECODE: "1" }, bin, dir, reset };
}
