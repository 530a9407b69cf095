/**
 * The GitHub job graph starts exactly the steps the IR says, for random graphs and outcomes.
 * A small model of GitHub's rules (a job's `if:`, with `success()` when absent; `failure()`
 * true when any ancestor job failed; a job whose `if:` is false is skipped) runs the
 * generated workflow; the IR's semantics run the IR: a default edge accepts a parent that
 * succeeded or was skipped by its own condition; any step may fail, and a failure
 * some step waits for makes that job continue-on-error, its dependents reading
 * its couler_failed output.
 * Skipped/Omitted/Errored edges are left out: they are documented approximations on GitHub.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import YAML from "yaml";
import { githubBackend } from "../backends/github/github-backend.js";
import { DiagnosticBag } from "../src/diagnostics.js";
import type { Condition, DepStatus, Depends, Step, WorkflowIR } from "../src/ir/types.js";

type Val = string | boolean;

/** Evaluate the subset of GitHub expressions the backend writes into `if:`. */
function evaluate(src: string, ctx: { needs: Record<string, string>; failed: Record<string, string>; inputs: Record<string, string>; failure: boolean }): Val {
  const toks = src.match(/\s*('(?:[^']|'')*'|&&|\|\||==|!=|!|\(|\)|[A-Za-z_][A-Za-z0-9_.-]*\(\)|[A-Za-z_][A-Za-z0-9_.-]*)/g)!.map((t) => t.trim());
  assert.equal(toks.join(""), src.replace(/\s+/g, ""), `unexpected syntax in ${src}`);
  let i = 0;
  const truthy = (v: Val) => v !== false && v !== "";
  const peek = () => toks[i];
  const primary = (): Val => {
    const t = toks[i++]!;
    if (t === "(") {
      const v = or();
      assert.equal(toks[i++], ")");
      return v;
    }
    if (t.startsWith("'")) return t.slice(1, -1).replace(/''/g, "'");
    if (t === "true") return true;
    if (t === "false") return false;
    if (t === "failure()") return ctx.failure;
    if (t === "cancelled()") return false;
    if (t === "always()") return true;
    const f = /^needs\.(.+)\.outputs\.couler_failed$/.exec(t);
    if (f) return ctx.failed[f[1]!] ?? "";
    const m = /^needs\.(.+)\.result$/.exec(t);
    if (m) return ctx.needs[m[1]!] ?? "";
    const n = /^inputs\.(.+)$/.exec(t);
    if (n) return ctx.inputs[n[1]!] ?? "";
    throw new Error(`cannot evaluate ${t} in ${src}`);
  };
  const cmp = (): Val => {
    const l = primary();
    if (peek() === "==" || peek() === "!=") {
      const op = toks[i++];
      const r = primary();
      const eq = String(l).toLowerCase() === String(r).toLowerCase();
      return op === "==" ? eq : !eq;
    }
    return l;
  };
  const unary = (): Val => (peek() === "!" ? (i++, !truthy(unary())) : cmp());
  const and = (): Val => {
    let v = unary();
    while (peek() === "&&") {
      i++;
      const r = unary();
      v = truthy(v) ? r : v;
    }
    return v;
  };
  const or = (): Val => {
    let v = and();
    while (peek() === "||") {
      i++;
      const r = and();
      v = truthy(v) ? v : r;
    }
    return v;
  };
  const v = or();
  assert.equal(i, toks.length, `trailing tokens in ${src}`);
  return v;
}

const loc = { file: "x.ts", line: 1, col: 1 };

interface Case {
  steps: Step[];
  /** Per step: does its program succeed? */
  ok: boolean[];
  /** Per step with a condition: the parameter value it compares with "yes". */
  input: boolean[];
}

const STATUSES: DepStatus[] = ["ok", "ok", "ok", "succeeded", "failed", "any"];

function caseArb(): fc.Arbitrary<Case> {
  return fc.integer({ min: 2, max: 7 }).chain((n) =>
    fc
      .record({
        deps: fc.array(
          fc.record({
            parents: fc.uniqueArray(fc.nat(), { maxLength: 3 }),
            statuses: fc.array(fc.constantFrom(...STATUSES), { minLength: 3, maxLength: 3 }),
            combine: fc.constantFrom("and", "and", "or", "not"),
            when: fc.boolean(),
          }),
          { minLength: n, maxLength: n },
        ),
        ok: fc.array(fc.boolean(), { minLength: n, maxLength: n }),
        input: fc.array(fc.boolean(), { minLength: n, maxLength: n }),
      })
      .map(({ deps, ok, input }) => {
        const steps: Step[] = deps.map((d, k) => {
          const parents = [...new Set(d.parents.filter(() => k > 0).map((p) => `s${p % k}`))];
          const atoms: Depends[] = parents.map((p, j) => ({ kind: "on", step: p, status: d.statuses[j]! }));
          let depends: Depends | undefined;
          if (atoms.length === 1) depends = d.combine === "not" ? { kind: "not", of: atoms[0]! } : atoms[0];
          else if (atoms.length > 1) depends = { kind: d.combine === "or" ? "or" : "and", of: atoms };
          const when: Condition | undefined = d.when ? { kind: "compare", op: "eq", left: { kind: "param", name: `w${k}` }, right: "yes" } : undefined;
          return {
            kind: "container",
            name: `s${k}`,
            loc,
            image: "alpine",
            command: ["true"],
            ...(depends ? { depends } : {}),
            ...(when ? { when } : {}),
          } as Step;
        });
        const handled = new Set(
          steps.flatMap((st) => {
            const atoms = (d?: Depends): { step: string; status: DepStatus }[] =>
              !d ? [] : d.kind === "on" ? [d] : d.kind === "not" ? atoms(d.of) : d.of.flatMap(atoms);
            return atoms(st.depends).filter((a) => a.status === "failed" || a.status === "any").map((a) => a.step);
          }),
        );
        void handled;
        return { steps, ok, input };
      }),
  );
}

/** Which steps run, by the IR's semantics. */
function irRuns(c: Case): Map<string, string> {
  const state = new Map<string, string>();
  const holds = (d: Depends): boolean => {
    if (d.kind === "not") return !holds(d.of);
    if (d.kind === "and") return d.of.every(holds);
    if (d.kind === "or") return d.of.some(holds);
    const st = state.get(d.step)!;
    switch (d.status) {
      case "ok":
        return st === "Succeeded" || st === "Skipped";
      case "succeeded":
        return st === "Succeeded";
      case "failed":
        return st === "Failed";
      case "any":
        return true;
      default:
        throw new Error(d.status);
    }
  };
  c.steps.forEach((s, k) => {
    if (s.depends && !holds(s.depends)) state.set(s.name, "Omitted");
    else if (s.when && !c.input[k]) state.set(s.name, "Skipped");
    else state.set(s.name, c.ok[k] ? "Succeeded" : "Failed");
  });
  return new Map([...state].map(([k, v]) => [k, v === "Succeeded" ? "success" : v === "Failed" ? "failure" : "skipped"]));
}

/** Which jobs run, by GitHub's rules applied to the generated workflow. */
function githubRuns(c: Case): Map<string, string> {
  const wf: WorkflowIR = { kind: "Workflow", irVersion: 1, name: "w", source: "x.ts", loc, config: {}, params: c.steps.map((_, k) => ({ name: `w${k}`, default: "no", loc })), steps: c.steps };
  const bag = new DiagnosticBag();
  const files = githubBackend.compile(wf, { diagnostics: bag, options: { "runs-on": "ubuntu-latest", permissions: "contents:read" } });
  assert.ok(!bag.hasErrors, JSON.stringify(bag.items));
  const jobs = YAML.parse(files[0]!.content).jobs as Record<string, { needs?: string[]; if?: string; "continue-on-error"?: boolean }>;
  const result = new Map<string, string>();
  /** What needs.<id>.result says: a job that continue-on-error lets fail reports success (actions/runner#1161). */
  const reported = new Map<string, string>();
  const failedOut = new Map<string, string>();
  const ancestors = new Map<string, Set<string>>();
  const inputs = Object.fromEntries(c.steps.map((_, k) => [`w${k}`, c.input[k] ? "yes" : "no"]));
  c.steps.forEach((s, k) => {
    const job = jobs[s.name]!;
    const anc = new Set<string>();
    for (const p of job.needs ?? []) {
      anc.add(p);
      for (const a of ancestors.get(p) ?? []) anc.add(a);
    }
    ancestors.set(s.name, anc);
    const failure = [...anc].some((a) => reported.get(a) === "failure");
    let runs: boolean;
    if (job.if === undefined) runs = [...anc].every((a) => reported.get(a) === "success");
    else {
      const expr = /^\$\{\{ (.*) \}\}$/.exec(job.if)![1]!;
      const needs = Object.fromEntries((job.needs ?? []).map((p) => [p, reported.get(p)!]));
      const failed = Object.fromEntries((job.needs ?? []).map((p) => [p, failedOut.get(p) ?? ""]));
      const v = evaluate(expr, { needs, failed, inputs, failure });
      const implicit = /\b(success|failure|cancelled|always)\(\)/.test(expr) ? true : [...anc].every((a) => reported.get(a) === "success");
      runs = implicit && v !== false && v !== "";
    }
    const real = runs ? (c.ok[k] ? "success" : "failure") : "skipped";
    result.set(s.name, real);
    const coe = job["continue-on-error"] === true;
    reported.set(s.name, real === "failure" && coe ? "success" : real);
    if (real === "failure" && coe) failedOut.set(s.name, "true");
  });
  return result;
}

describe("github ordering follows the IR", () => {
  test("a failure nobody waits for stops the plain chain below it", () => {
    const on = (step: string) => ({ kind: "on" as const, step, status: "ok" as const });
    const c: Case = {
      steps: ["a", "b", "c"].map((n, k) => ({ kind: "container", name: `s${k}`, loc, image: "alpine", command: ["true"], ...(k ? { depends: on(`s${k - 1}`) } : {}) }) as Step),
      ok: [false, true, true],
      input: [false, false, false],
    };
    assert.deepEqual([...githubRuns(c)], [["s0", "failure"], ["s1", "skipped"], ["s2", "skipped"]]);
  });

  test("random graphs, conditions and outcomes (fast-check, fixed seed)", () => {
    fc.assert(
      fc.property(caseArb(), (c) => {
        assert.deepEqual(githubRuns(c), irRuns(c));
      }),
      { seed: 20261128, numRuns: 1500 },
    );
  });
});
