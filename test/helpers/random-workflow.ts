/**
 * Random valid workflows, built through the DSL, for the property tests and `npm run fuzz`.
 *
 * A case is `(seed, size)`: a small deterministic PRNG seeded with `seed` draws a workflow of
 * `size` steps, so any failing case is reproduced exactly by its two numbers
 * (`npm run fuzz -- --case <seed>:<size>`). fast-check draws the pairs (and shrinks them).
 *
 * What a workflow may hold: workflow params (hostile defaults), a sequential program with
 * `concurrent` groups or a DAG built with `setDependencies` (random edges to earlier steps,
 * now and then a status edge), container and script steps, args and env values mixing hostile
 * literals, params and outputs of upstream steps (`.result` and declared outputs), `when`
 * conditions, static `map` fan-out, retries and timeouts, labels and annotations.
 *
 * ```ts
 * const wf = randomWorkflow(42, 10); // a Workflow, IR in wf.ir
 * ```
 */
import fc from "fast-check";
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
  when,
  workflow,
  type Workflow,
} from "../../src/index.js";
import type { ValueRef } from "../../src/dsl/values.js";

/** Strings that break naive emitters: quoting, templating of every target, YAML 1.1, Python, shells. */
export const HOSTILE: readonly string[] = [
  `it's "quoted"`,
  `back\\slash \\n \\\\`,
  "new\nline",
  "tab\there",
  "cr\r\nlf",
  "{{workflow.name}}",
  "{{ inputs.parameters.x }}",
  "{{=sprig.env('HOME')}}",
  "${{ github.token }}",
  "${{ secrets.GITHUB_TOKEN }}",
  "$(params.x)",
  "$(context.pipelineRun.name)",
  "$(tasks.a.results.b)",
  "$(echo pwned)",
  "`echo pwned`",
  "{% if true %}x{% endif %}",
  "{# comment #}",
  "{{ ti.xcom_pull('a') }}",
  "%s %d %(x)s 100%",
  '"""triple"""',
  "'''triple'''",
  "\\'",
  "on",
  "yes",
  "no",
  "No",
  "off",
  "null",
  "~",
  "true",
  "0123",
  "0o17",
  "0x1F",
  "1e3",
  ".inf",
  "-.5",
  "1_000",
  "12:30",
  "2024-01-01",
  "key: value",
  "# not a comment",
  "- not a list",
  "[a, b]",
  "{a: b}",
  "&anchor *alias !tag",
  "| block",
  "> folded",
  "@at",
  "?q",
  "  leading and trailing  ",
  " ",
  "",
  "ünïcödé ✓ 日本語",
  "emoji 🎉👩‍💻",
  "\u2028line sep\u2029",
  "nul-free \u0001 control \u001b[31m",
  "}}",
  "{{",
  "{",
  "$",
  "${",
  "$((1+1))",
  "${HOME}",
  "cost $$5 $$(V) $(V)",
  "$(HOME)",
  "a".repeat(3000),
  "x ${{ '{{' }} y {{ '}}' }} ${{ '${{' }}",
  "EOF\nCOULER_EOF\nCOULER_SCRIPT_EOF\nCOULER_SOURCE",
];

const SAFE_WORDS = ["alpha", "beta", "gamma", "delta", "42", "3.14", "x-y", "a_b"];

/** mulberry32: tiny, fast, good enough for drawing test workflows. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface GenOptions {
  /** Chance that a literal is drawn from HOSTILE (default 0.3). */
  readonly hostile?: number;
}

const NAME_STYLES = [(i: number) => `s${i}`, (i: number) => `${i}n`, (i: number) => `Step_${i}`, (i: number) => `job-${i}`, (i: number) => `t${i}x`, (i: number) => `l${i}-${"long".repeat(20)}`];

/** One random workflow of `size` steps (1..200), deterministic in `(seed, size)`. */
export function randomWorkflow(seed: number, size: number, opts: GenOptions = {}): Workflow {
  const rnd = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const chance = (p: number) => rnd() < p;
  const hostileP = opts.hostile ?? 0.3;
  const literal = () => (chance(hostileP) ? pick(HOSTILE) : pick(SAFE_WORDS));
  const dagMode = chance(0.5);
  const nParams = Math.floor(rnd() * 4);
  // label values are Kubernetes label values (the DSL refuses others); hostile text goes into annotations
  const labels: Record<string, string> = chance(0.3) ? { team: pick(["data", "ml-platform", "a.b_c-1", "0123", "on", "yes"]) } : {};
  const annotations: Record<string, string> = chance(0.3) ? { note: literal() } : {};

  return workflow(
    `rand-${seed >>> 0}-${size}`,
    () => {
      const params: ValueRef[] = [];
      for (let i = 0; i < nParams; i++) params.push(param(`p${i}`, chance(0.8) ? { default: literal() } : {}));
      const made: { handle: StepHandle; outputs: string[]; name: string }[] = [];

      /** A value: literal, param, or an output of one of `upstream` (handles this step may read). */
      const value = (upstream: readonly { handle: StepHandle; outputs: string[] }[]): string | ValueRef => {
        const r = rnd();
        if (r < 0.5 || (params.length === 0 && upstream.length === 0)) return literal();
        if (r < 0.7 && params.length) return pick(params);
        if (upstream.length) {
          const u = pick(upstream);
          if (u.outputs.length && chance(0.6)) return u.handle.outputs[pick(u.outputs)]!;
          return u.handle.result;
        }
        return literal();
      };
      const concat = (upstream: readonly { handle: StepHandle; outputs: string[] }[]): string | ValueRef => {
        if (!chance(0.2)) return value(upstream);
        return `${literal()}=${value(upstream)}:${literal()}`;
      };

      /** Create step `i` reading from `upstream`; returns its handle (or undefined for a map with no handle). */
      const step = (i: number, upstream: readonly { handle: StepHandle; outputs: string[] }[]): { handle: StepHandle; outputs: string[]; name: string } | undefined => {
        const name = pick(NAME_STYLES)(i);
        const outputs = chance(0.4) ? Array.from({ length: 1 + Math.floor(rnd() * 2) }, (_, k) => `o${k}`) : [];
        const args = Array.from({ length: Math.floor(rnd() * 3) }, () => concat(upstream));
        const env: Record<string, string | ValueRef> = {};
        for (let k = 0, n = Math.floor(rnd() * 3); k < n; k++) env[`E${k}`] = concat(upstream);
        const common = {
          stepName: name,
          image: chance(0.8) ? "alpine:3.20" : "python:3.12-alpine",
          env,
          ...(outputs.length ? { output: outputs.map((o) => createParameterArtifact(`/tmp/${o}`, { name: o })) } : {}),
          ...(chance(0.15) ? { retry: 1 + Math.floor(rnd() * 3) } : {}),
          ...(chance(0.1) ? { timeout: 60 + Math.floor(rnd() * 600) } : {}),
        };
        const build = (item?: unknown) => {
          const a = item === undefined ? args : [...args, item as ValueRef];
          return chance(0.7)
            ? runContainer({ ...common, command: ["sh", "-c", chance(0.5) ? "echo hi" : literal()], args: a })
            : runScript({ ...common, command: ["python"], source: `print(${JSON.stringify(literal())})\n${chance(0.3) ? literal() : ""}`, args: a });
        };
        const makeIt = (): StepHandle | undefined => {
          if (chance(0.12)) {
            const items = Array.from({ length: 1 + Math.floor(rnd() * 3) }, () => literal());
            return map((it) => build(it), items) as StepHandle | undefined;
          }
          return build() as StepHandle;
        };
        let handle: StepHandle | undefined;
        if (chance(0.15) && upstream.length + params.length > 0) {
          const left = value(upstream);
          const right = pick(SAFE_WORDS);
          when(chance(0.5) ? equal(left, right) : notEqual(left, right), () => {
            handle = makeIt();
          });
        } else handle = makeIt();
        return handle ? { handle, outputs, name } : undefined;
      };

      if (dagMode) {
        for (let i = 0; i < size; i++) {
          const parents: typeof made = [];
          const deps: string[] = [];
          for (const m of made) {
            if (chance(Math.min(0.5, 2 / Math.max(1, made.length)))) {
              parents.push(m);
              const status = chance(0.08) ? pick([".Succeeded", ".Failed", ".Errored", ".Skipped", ".Omitted"]) : "";
              deps.push(m.name + status);
            }
          }
          // only parents reached by a plain edge pass data
          const readable = parents.filter((_, k) => !deps[k]!.includes("."));
          setDependencies(() => {
            const m = step(i, readable);
            if (m) made.push(m);
          }, deps);
        }
      } else {
        let i = 0;
        while (i < size) {
          const group = Math.min(size - i, chance(0.3) ? 2 + Math.floor(rnd() * 2) : 1);
          const upstream = [...made];
          if (group === 1) {
            const m = step(i++, upstream);
            if (m) made.push(m);
          } else {
            const branch: (() => void)[] = [];
            for (let k = 0; k < group; k++) {
              const idx = i++;
              branch.push(() => {
                const m = step(idx, upstream);
                if (m) made.push(m);
              });
            }
            concurrent(branch);
          }
        }
      }
    },
    { ...(Object.keys(labels).length ? { labels } : {}), ...(Object.keys(annotations).length ? { annotations } : {}) },
  );
}

/** Case arbitrary: mostly small workflows, now and then up to 200 steps. */
export function caseArbitrary(): fc.Arbitrary<{ seed: number; size: number }> {
  return fc.record({
    seed: fc.integer({ min: 0, max: 0x7fffffff }),
    size: fc.oneof({ weight: 10, arbitrary: fc.integer({ min: 1, max: 8 }) }, { weight: 2, arbitrary: fc.integer({ min: 9, max: 30 }) }, { weight: 1, arbitrary: fc.integer({ min: 31, max: 200 }) }),
  });
}
