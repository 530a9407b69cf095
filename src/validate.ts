/**
 * Engine-independent checks of a built workflow. Every problem becomes a located
 * diagnostic; nothing throws. Backends add their own target-specific checks.
 */
import { error, suggest, warning, type Diagnostic } from "./diagnostics.js";
import { buildGraph, depAtoms, findCycle, refsOfStep } from "./ir/graph.js";
import { checkSchema } from "./ir/schema.js";
import type { Depends, Step, WorkflowIR } from "./ir/types.js";

const TOKEN_CHARS = /[\uE000\uE001]/;
/** States after which a step's outputs may not exist. */
const NO_OUTPUT_STATES = new Set(["failed", "errored", "skipped", "omitted", "allFailed", "any"]);

export function validateWorkflow(wf: WorkflowIR): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const m of checkSchema(wf)) out.push(error("ir-schema", `internal: the IR does not match its schema: ${m}`, wf.loc));
  const g = buildGraph(wf);
  const names = [...g.byName.keys()];
  const params = new Set(wf.params.map((p) => p.name));
  if (wf.steps.length === 0) out.push(error("empty-workflow", `workflow "${wf.name}" has no steps`, wf.loc));

  for (const s of wf.steps) {
    if (g.byName.get(s.name) !== s) continue; // duplicates were reported when created
    for (const a of depAtoms(s.depends)) {
      if (a.step === s.name) out.push(error("self-dependency", `step "${s.name}" cannot depend on itself`, s.loc));
      else if (!g.byName.has(a.step)) {
        out.push(error("unknown-step", `step "${s.name}" depends on unknown step "${a.step}"${suggest(a.step, names)}`, s.loc));
      }
    }
    for (const r of refsOfStep(s)) {
      if (r.kind === "param") {
        if (!params.has(r.name)) {
          out.push(error("unknown-param", `step "${s.name}" uses unknown parameter "${r.name}"${suggest(r.name, params)}`, s.loc));
        }
        continue;
      }
      const producer = g.byName.get(r.step);
      if (!producer) {
        out.push(error("unknown-step", `step "${s.name}" uses the output of unknown step "${r.step}"${suggest(r.step, names)}`, s.loc));
        continue;
      }
      if (r.step === s.name) {
        out.push(error("self-reference", `step "${s.name}" cannot use its own output`, s.loc));
        continue;
      }
      if (r.kind === "output") {
        const outs = (producer.outputs ?? []).map((o) => o.name);
        if (!outs.includes(r.output)) {
          const declared = outs.length ? `it declares ${outs.map((o) => `"${o}"`).join(", ")}` : "it declares no outputs";
          out.push(
            error(
              "unknown-output",
              `step "${s.name}" uses output "${r.output}" of step "${r.step}", which has no such output${suggest(r.output, outs)}; ${declared}`,
              s.loc,
            ),
          );
        }
      }
      const waits = waitStates(s.depends, r.step);
      if (waits.length && waits.every((w) => NO_OUTPUT_STATES.has(w))) {
        out.push(
          error(
            "not-upstream",
            `step "${s.name}" uses the output of "${r.step}" but runs when "${r.step}" is ${waits.join("/")}, when that output may not exist`,
            s.loc,
          ),
        );
      }
    }
    const seenOut = new Set<string>();
    for (const o of s.outputs ?? []) {
      if (seenOut.has(o.name)) out.push(error("duplicate-output", `step "${s.name}" declares output "${o.name}" twice`, o.loc));
      seenOut.add(o.name);
    }
    const seenEnv = new Map<string, string>();
    for (const e of s.env ?? []) seenEnv.set(e.name, "env");
    for (const e of s.secretEnv ?? []) {
      if (seenEnv.has(e.name)) {
        out.push(error("duplicate-env", `step "${s.name}" sets env var "${e.name}" twice (from ${seenEnv.get(e.name)} and secret "${e.secret}")`, s.loc));
      }
      seenEnv.set(e.name, `secret "${e.secret}"`);
      if (e.namespace !== undefined && wf.config.namespace !== undefined && e.namespace !== wf.config.namespace) {
        out.push(
          error(
            "secret-namespace",
            `secret "${e.secret}" is in namespace "${e.namespace}" but the workflow runs in "${wf.config.namespace}": a pod can only read secrets of its own namespace`,
            s.loc,
          ),
        );
      }
    }
    checkText(s, out);
  }
  const cycle = findCycle(g);
  if (cycle) {
    const first = g.byName.get(cycle[0]!)!;
    out.push(error("cycle", `dependency cycle: ${cycle.join(" -> ")}`, first.loc));
  }
  for (const p of wf.params) {
    if (p.default !== undefined && TOKEN_CHARS.test(p.default)) {
      out.push(error("ref-in-text", `parameter "${p.name}": a default cannot refer to a parameter or step output`, p.loc));
    }
  }
  const unusedParams = new Set(params);
  for (const s of wf.steps) for (const r of refsOfStep(s)) if (r.kind === "param") unusedParams.delete(r.name);
  for (const p of wf.params) {
    if (unusedParams.has(p.name)) out.push(warning("unused-param", `parameter "${p.name}" is never used`, p.loc));
  }
  return out;
}

/** The states of `step` that `d` waits for, read off its atoms. */
function waitStates(d: Depends | undefined, step: string): string[] {
  return depAtoms(d)
    .filter((a) => a.step === step)
    .map((a) => a.status);
}

/** References only work as values; one that ended up in plain text (an image, a path) is a mistake. */
function checkText(s: Step, out: Diagnostic[]): void {
  const fields: [string, string | undefined][] = [
    ["image", s.image],
    ["workingDir", s.workingDir],
    ["source", s.kind === "script" ? s.source : undefined],
  ];
  for (const o of s.outputs ?? []) fields.push([`output "${o.name}" path`, o.path]);
  for (const [what, text] of fields) {
    if (text !== undefined && TOKEN_CHARS.test(text)) {
      out.push(
        error(
          "ref-in-text",
          `step "${s.name}": ${what} cannot contain a parameter or step output; pass it as an argument or env var instead`,
          s.loc,
        ),
      );
    }
  }
}
