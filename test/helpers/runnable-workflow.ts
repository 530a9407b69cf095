/**
 * Random workflows that really run, for the replay check (test/replay.test.ts) and
 * `npm run fuzz -- --replay`: every step is a `sh` or `python` process whose stdout and output
 * files echo what it received, so values passed between steps are compared end to end.
 *
 * Besides plain ordering they draw what makes engines end differently: steps that fail
 * (exit 1), steps that fail a few times and then succeed under `retry`, `when` conditions on
 * upstream results (both outcomes happen), status dependencies (`.Failed`, `.Succeeded`,
 * `.Skipped`, `.Omitted`, any outcome, `||`), `map` over static lists with an item that fails,
 * fan-in of a mapped step's results, and exit handlers per status and for any status.
 *
 * A step that retries counts its attempts in `$COULER_TEST_STATE` (a folder the caller empties
 * before each run), so `couler run` and every replay see the same sequence of failures.
 * Deterministic in `(seed, size)`.
 * ```ts
 * const wf = runnableWorkflow(7, 6); // wf.ir
 * ```
 */
import {
  type StepHandle,
  concurrent,
  createParameterArtifact,
  equal,
  map,
  notEqual,
  param,
  runContainer,
  runScript,
  setDependencies,
  setExitHandler,
  when,
  workflow,
  workflowStatus,
  WFStatus,
  type Workflow,
} from "../../src/index.js";
import type { ValueRef } from "../../src/dsl/values.js";
import { prng } from "./random-workflow.js";

/** Words steps print and compare; a few carry quotes, spaces and braces that engines must pass intact. */
const WORDS = ["alpha", "beta", "gamma", "it's", 'say "hi"', "two words", "{x}", "ünï", "42", "-7"];

interface Made {
  readonly handle: StepHandle;
  readonly name: string;
  readonly outputs: readonly string[];
  /** Words its result can be (for conditions that go both ways). */
  readonly says: readonly string[];
  readonly mapped: boolean;
  /** Created inside `when`: it may not run, so no step reads it. */
  readonly conditional: boolean;
}

/** One runnable random workflow of `size` steps (1..12). */
export function runnableWorkflow(seed: number, size: number): Workflow {
  const rnd = prng(seed ^ 0x5eed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const chance = (p: number) => rnd() < p;
  const dagMode = chance(0.6);

  return workflow(`run-${seed >>> 0}-${size}`, () => {
    const params: ValueRef[] = chance(0.5) ? [param("p0", { default: pick(WORDS) })] : [];
    const made: Made[] = [];

    const value = (all: readonly Made[]): string | ValueRef => {
      const upstream = all.filter((u) => !u.conditional);
      const r = rnd();
      if (r < 0.4 || (!params.length && !upstream.length)) return pick(WORDS);
      if (r < 0.55 && params.length) return params[0]!;
      const plain = upstream.filter((u) => !u.mapped);
      if (plain.length) {
        const u = pick(plain);
        return u.outputs.length && chance(0.5) ? u.handle.outputs[pick(u.outputs)]! : u.handle.result;
      }
      const m = upstream.find((u) => u.mapped);
      return m ? m.handle.result : pick(WORDS);
    };

    /** Step `i`: prints one word (its result), writes its outputs, may fail or fail-then-succeed. */
    const step = (i: number, upstream: readonly Made[]): Made | undefined => {
      const name = `s${i}`;
      const word = pick(WORDS);
      const outputs = chance(0.3) ? ["o0"] : [];
      const fails = chance(0.1);
      const flaky = !fails && chance(0.15) ? 1 + Math.floor(rnd() * 2) : 0;
      const retry = flaky ? flaky + (chance(0.7) ? 0 : -1) : fails && chance(0.3) ? 1 : 0;
      const args = Array.from({ length: Math.floor(rnd() * 3) }, () => value(upstream));
      const env: Record<string, string | ValueRef> = chance(0.4) ? { IN: value(upstream) } : {};
      const common = {
        stepName: name,
        image: "alpine:3.20",
        env,
        ...(outputs.length ? { output: outputs.map((o) => createParameterArtifact(`/tmp/couler-${name}-${o}`, { name: o })) } : {}),
        ...(retry > 0 ? { retry } : {}),
      };
      // argv: the word, then what it received; prints the word alone on stdout (its result)
      const shell = [
        flaky ? `f="$COULER_TEST_STATE/${name}-$1"; n=$(cat "$f" 2>/dev/null || echo 0); echo $((n+1)) > "$f"; [ "$n" -ge ${flaky} ] || { echo "attempt $n fails" >&2; exit 3; }` : "",
        `printf '%s\\n' "$1"`,
        `printf 'got:' >&2; for a in "$@"; do printf ' [%s]' "$a" >&2; done; printf ' env[%s]\\n' "$IN" >&2`,
        outputs.map((o) => `printf '%s' "$1-${o}" > /tmp/couler-${name}-${o}`).join("; "),
        fails ? "exit 1" : "",
      ].filter(Boolean);
      const py = [
        "import os, sys",
        `w = sys.argv[1]`,
        flaky ? `f = os.path.join(os.environ["COULER_TEST_STATE"], "${name}-" + w)\nn = int(open(f).read()) if os.path.exists(f) else 0\nopen(f, "w").write(str(n + 1))\nif n < ${flaky}: sys.exit(3)` : "",
        "print(w)",
        ...outputs.map((o) => `open("/tmp/couler-${name}-${o}", "w").write(w + "-${o}")`),
        fails ? "sys.exit(1)" : "",
      ].filter(Boolean);
      const build = (first: string | ValueRef) =>
        chance(0.75)
          ? runContainer({ ...common, command: ["sh", "-c", shell.join("\n"), "sh"], args: [first, ...args] })
          : runScript({ ...common, command: ["python3"], source: py.join("\n") + "\n", args: [first, ...args] });
      let handle: StepHandle | undefined;
      let mapped = false;
      const makeIt = () => {
        if (chance(0.15)) {
          mapped = true;
          const items = Array.from({ length: 1 + Math.floor(rnd() * 3) }, () => pick(WORDS));
          handle = map((it) => build(it as ValueRef), items) as StepHandle | undefined;
        } else handle = build(word) as StepHandle;
      };
      const plain = upstream.filter((u) => !u.mapped && !u.conditional);
      let conditional = false;
      if (chance(0.25) && plain.length) {
        const u = pick(plain);
        const right = chance(0.7) ? pick(u.says) : pick(WORDS);
        conditional = true;
        when(chance(0.5) ? equal(u.handle.result, right) : notEqual(u.handle.result, right), makeIt);
      } else makeIt();
      return handle ? { handle, name, outputs, says: [word], mapped, conditional } : undefined;
    };

    if (dagMode) {
      for (let i = 0; i < size; i++) {
        const parents: Made[] = [];
        const atoms: string[] = [];
        for (const m of made) {
          if (!chance(Math.min(0.6, 2 / Math.max(1, made.length)))) continue;
          const status = chance(0.3) ? pick([".Succeeded", ".Failed", ".Skipped", ".Omitted", "*any"]) : "";
          if (status === "*any") atoms.push(`(${m.name}.Succeeded || ${m.name}.Failed || ${m.name}.Errored)`);
          else {
            atoms.push(m.name + status);
            if (!status) parents.push(m);
          }
        }
        const deps = atoms.length > 1 && chance(0.25) ? atoms.join(" || ") : atoms.length > 1 || atoms.some((a) => a.startsWith("(")) ? atoms.join(" && ") : atoms;
        // only parents on plain edges (and an && of them) pass data
        const readable = typeof deps === "string" && deps.includes("||") ? [] : parents;
        setDependencies(() => {
          const m = step(i, readable);
          if (m) made.push(m);
        }, deps);
      }
    } else {
      let i = 0;
      while (i < size) {
        const group = Math.min(size - i, chance(0.3) ? 2 : 1);
        const upstream = [...made];
        if (group === 1) {
          const m = step(i++, upstream);
          if (m) made.push(m);
        } else {
          const branches = [i++, i++].map((idx) => () => {
            const m = step(idx, upstream);
            if (m) made.push(m);
          });
          concurrent(branches);
        }
      }
    }
    if (chance(0.4)) {
      const status = pick([WFStatus.Succeeded, WFStatus.Failed, undefined]);
      const body = () => runContainer({ stepName: "on-exit", image: "alpine:3.20", command: ["sh", "-c", `printf '%s\\n' "$1"`, "sh"], args: [`status=${workflowStatus()}`] });
      if (status) setExitHandler(status, body);
      else setExitHandler(body);
    }
  });
}
