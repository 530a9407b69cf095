/**
 * Conditions a Tekton `when` list cannot state (numeric comparisons, an `or` across values,
 * a negated conjunction) are evaluated by a small helper step instead, the way Tekton's old
 * Conditions worked: the helper runs `sh` in the `condition-image`, prints `true` or
 * `false`, and the guarded step gets `when: $(tasks.<helper>.results.result) in ["true"]`.
 * The helper waits for the steps whose values it compares; the values reach it as env
 * vars, never as shell text.
 */
import { and, refsOfValue } from "../../src/ir/graph.js";
import type { Condition, Depends, Ref, Step, Value, WorkflowIR } from "../../src/ir/types.js";
import { conditionToWhen } from "./when.js";

const NUMERIC: Record<string, string> = { gt: ">", lt: "<", ge: ">=", le: "<=" };

/** The condition as a POSIX sh command list; each compared value becomes `$COULER_V<n>`. */
export function shCondition(c: Condition, values: Value[]): string {
  const v = (x: Value) => {
    values.push(x);
    return `COULER_V${values.length - 1}`;
  };
  switch (c.kind) {
    case "compare": {
      const l = v(c.left);
      const r = v(c.right);
      if (c.op === "eq") return `[ "$${l}" = "$${r}" ]`;
      if (c.op === "ne") return `[ "$${l}" != "$${r}" ]`;
      return `awk 'BEGIN { exit !(ENVIRON["${l}"] + 0 ${NUMERIC[c.op]} ENVIRON["${r}"] + 0) }'`;
    }
    case "not":
      return `! { ${shCondition(c.of, values)}; }`;
    case "and":
    case "or":
      return `{ ${c.of.map((x) => shCondition(x, values)).join(c.kind === "and" ? " && " : " || ")}; }`;
  }
}

function usesItemOrStatus(c: Condition): boolean {
  const vals: Value[] = [];
  shCondition(c, vals);
  return vals.some((x) => {
    const parts = typeof x === "string" ? [] : x.kind === "concat" ? x.parts : [x];
    return parts.some((p) => typeof p !== "string" && (p.kind === "item" || (p.kind === "workflow" && p.field === "status")));
  });
}

/** Does the condition have a direct `when` form (structurally)? */
export function hasWhenForm(c: Condition): boolean {
  return conditionToWhen(
    c,
    () => ({ ok: true, value: "x" }),
    () => ({ ok: true, value: ["x"] }),
  ).ok;
}

/**
 * The workflow with a helper step before each main-graph step whose condition has no
 * `when` form, and the names of the helpers.
 *
 * ```ts
 * const { wf: out, helpers } = withConditionHelpers(wf, "busybox:1.36");
 * ```
 */
export function withConditionHelpers(wf: WorkflowIR, image: string): { wf: WorkflowIR; helpers: Set<string> } {
  const helpers = new Set<string>();
  const taken = new Set<string>();
  const collect = (steps: readonly Step[]) => {
    for (const s of steps) {
      taken.add(s.name);
      if (s.kind === "while") collect(s.body);
    }
  };
  collect(wf.steps);
  collect(wf.onExit ?? []);
  const steps: Step[] = [];
  for (const s of wf.steps) {
    if (!s.when || hasWhenForm(s.when) || usesItemOrStatus(s.when)) {
      steps.push(s);
      continue;
    }
    let name = `${s.name}-when`;
    for (let i = 2; taken.has(name); i++) name = `${s.name}-when-${i}`;
    taken.add(name);
    helpers.add(name);
    const values: Value[] = [];
    const test = shCondition(s.when, values);
    const refs: Ref[] = [];
    for (const v of values) refsOfValue(v, refs);
    const producers = [...new Set(refs.flatMap((r) => (r.kind === "result" || r.kind === "output" ? [r.step] : [])))];
    const depends: Depends | undefined = and(producers.map((p) => ({ kind: "on", step: p, status: "ok" }) as const));
    const helper: Step = {
      kind: "script",
      name,
      loc: s.loc,
      image,
      command: ["sh"],
      language: "shell",
      source: `if ${test}; then echo true; else echo false; fi\n`,
      env: values.map((value, i) => ({ name: `COULER_V${i}`, value })),
      ...(depends ? { depends } : {}),
    };
    steps.push(helper);
    steps.push({
      ...s,
      when: { kind: "compare", op: "eq", left: { kind: "result", step: name }, right: "true" },
      depends: and([...(s.depends ? [s.depends] : []), { kind: "on", step: name, status: "ok" }])!,
    } as Step);
  }
  return { wf: helpers.size ? { ...wf, steps } : wf, helpers };
}
