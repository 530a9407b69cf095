/**
 * Engine-independent checks of a built workflow. Every problem becomes a located
 * diagnostic; nothing throws. Backends add their own target-specific checks.
 *
 * The IR's shape is the DSL's to guarantee, so it is not checked against the JSON Schema
 * here (on every compile); `--target ir` checks what it prints, and the tests check the IR
 * of every fixture and of random workflows.
 */
import { error, suggest, warning, type Diagnostic } from "./diagnostics.js";
import {
  allSteps,
  buildGraph,
  depAtoms,
  findCycle,
  isPodStep,
  refsOfStep,
  refsOfValue,
  stepScopes,
  valuesOfCondition,
  type StepScope,
} from "./ir/graph.js";
import { handleInText, handleMistake } from "./dsl/values.js";
import type { Condition, Depends, Ref, Step, WorkflowIR } from "./ir/types.js";

const TOKEN_CHARS = /[\uE000\uE001]/;
/** States after which a step's outputs may not exist. */
const NO_OUTPUT_STATES = new Set(["failed", "errored", "skipped", "omitted", "allFailed", "any"]);

function scopeName(sc: StepScope): string {
  return sc.id === "main" ? "the main graph" : sc.id === "onExit" ? "the exit handler" : `the body of execWhile step "${sc.owner!.name}"`;
}

export function validateWorkflow(wf: WorkflowIR): Diagnostic[] {
  const out: Diagnostic[] = [];
  const params = new Set(wf.params.map((p) => p.name));
  const everything = allSteps(wf);
  const stepScope = new Map<string, StepScope>();
  for (const sc of stepScopes(wf)) for (const s of sc.steps) if (!stepScope.has(s.name)) stepScope.set(s.name, sc);
  const allNames = [...stepScope.keys()];
  const volumes = new Set((wf.config.volumes ?? []).map((v) => v.name));
  if (wf.steps.length === 0) out.push(error("empty-workflow", `workflow "${wf.name}" has no steps`, wf.loc));

  for (const sc of stepScopes(wf)) {
    const g = buildGraph(sc.steps);
    const mayLack = new NoValueStates(g.byName);
    const names = [...g.byName.keys()];
    if (sc.owner && sc.steps.length === 0) out.push(error("empty-loop", `execWhile step "${sc.owner.name}" has an empty body`, sc.owner.loc));
    for (const s of sc.steps) {
      if (g.byName.get(s.name) !== s) continue; // duplicates were reported when created
      for (const a of depAtoms(s.depends)) {
        if (a.step === s.name) out.push(error("self-dependency", `step "${s.name}" cannot depend on itself`, s.loc));
        else if (!g.byName.has(a.step)) {
          const elsewhere = stepScope.get(a.step);
          out.push(
            elsewhere
              ? error("cross-graph", `step "${s.name}" in ${scopeName(sc)} cannot depend on step "${a.step}" in ${scopeName(elsewhere)}`, s.loc)
              : error("unknown-step", `step "${s.name}" depends on unknown step "${a.step}"${suggest(a.step, names)}`, s.loc),
          );
        }
      }
      for (const r of refsOfStep(s)) checkRef(r, s, sc, g.byName, false, mayLack);
      if (s.kind === "while") {
        const body = buildGraph(s.body).byName;
        for (const r of valuesOfCondition(s.condition).flatMap((v) => refsOfValue(v))) checkRef(r, s, sc, body, true);
      }
      if (isPodStep(s)) {
        for (const a of s.inputArtifacts ?? []) {
          if (a.from.kind !== "step") continue;
          const p = g.byName.get(a.from.step);
          if (!p) {
            out.push(error("unknown-step", `step "${s.name}" takes artifact "${a.from.artifact}" of unknown step "${a.from.step}"${suggest(a.from.step, names)}`, a.loc));
            continue;
          }
          const arts = isPodStep(p) ? (p.outputArtifacts ?? []).map((x) => x.name) : [];
          if (!arts.includes(a.from.artifact)) {
            out.push(
              error(
                "unknown-artifact",
                `step "${s.name}" takes artifact "${a.from.artifact}" of step "${a.from.step}", which has no such output artifact${suggest(a.from.artifact, arts)}`,
                a.loc,
              ),
            );
          }
        }
        for (const m of s.volumeMounts ?? []) {
          if (!volumes.has(m.volume)) {
            out.push(error("unknown-volume", `step "${s.name}" mounts unknown volume "${m.volume}"${suggest(m.volume, volumes)}`, s.loc));
          }
        }
        const seenEnv = new Map<string, string>();
        if (s.secretEnv?.length) for (const e of s.env ?? []) seenEnv.set(e.name, "env");
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
      }
      if (s.outputs?.length || (isPodStep(s) && s.outputArtifacts?.length)) {
        const seenOut = new Set<string>();
        for (const o of [...(s.outputs ?? []), ...(isPodStep(s) ? (s.outputArtifacts ?? []) : [])]) {
          if (seenOut.has(o.name)) out.push(error("duplicate-output", `step "${s.name}" declares output "${o.name}" twice`, o.loc));
          seenOut.add(o.name);
        }
      }
      if (s.loop?.kind === "items") {
        if (s.loop.items.length === 0) out.push(error("empty-map", `map over step "${s.name}" has no items`, s.loc));
      }
      checkText(s, out);
    }
    const cycle = findCycle(g);
    if (cycle) out.push(error("cycle", `dependency cycle: ${cycle.join(" -> ")}`, g.byName.get(cycle[0]!)!.loc));
  }

  function checkRef(r: Ref, s: Step, sc: StepScope, visible: ReadonlyMap<string, Step>, inCondition: boolean, mayLack?: NoValueStates): void {
    switch (r.kind) {
      case "param":
        if (!params.has(r.name)) out.push(error("unknown-param", `step "${s.name}" uses unknown parameter "${r.name}"${suggest(r.name, params)}`, s.loc));
        return;
      case "item": {
        if (!s.loop) {
          out.push(error("item-outside-map", `step "${s.name}" uses a map item but is not fanned out by map()`, s.loc));
          return;
        }
        if (s.loop.kind === "items" && r.index !== undefined && !(r.index < (s.loop.items[0]?.length ?? 0))) {
          out.push(error("item-index", `step "${s.name}" uses map list #${r.index + 1}, but map() was given ${s.loop.items[0]?.length ?? 0}`, s.loc));
        }
        return;
      }
      case "workflow":
        if (r.field === "status" && sc.id !== "onExit") {
          out.push(error("status-outside-exit", `step "${s.name}" reads the workflow's status, which is only known in an exit handler (setExitHandler)`, s.loc));
        }
        return;
      case "result":
      case "output": {
        const producer = visible.get(r.step);
        if (!producer) {
          const elsewhere = stepScope.get(r.step);
          if (elsewhere) {
            out.push(error("cross-graph", `step "${s.name}" in ${inCondition ? `the condition of ${scopeName(sc)}` : scopeName(sc)} cannot use the output of step "${r.step}" in ${scopeName(elsewhere)}`, s.loc));
          } else {
            out.push(error("unknown-step", `step "${s.name}" uses the output of unknown step "${r.step}"${suggest(r.step, allNames)}`, s.loc));
          }
          return;
        }
        if (r.step === s.name && !inCondition) {
          out.push(error("self-reference", `step "${s.name}" cannot use its own output`, s.loc));
          return;
        }
        if (r.kind === "output") {
          const outs = (producer.outputs ?? []).map((o) => o.name);
          if (!outs.includes(r.output)) {
            const arts = isPodStep(producer) ? (producer.outputArtifacts ?? []).map((a) => a.name) : [];
            const declared = outs.length ? `it declares ${outs.map((o) => `"${o}"`).join(", ")}` : "it declares no output parameters";
            out.push(
              error(
                "unknown-output",
                arts.includes(r.output)
                  ? `step "${s.name}" uses artifact "${r.output}" of step "${r.step}" as a value; pass it with input: [${r.step}.artifact("${r.output}")] instead`
                  : `step "${s.name}" uses output "${r.output}" of step "${r.step}", which has no such output${suggest(r.output, outs)}; ${declared}`,
                s.loc,
              ),
            );
          }
        }
        const what = r.kind === "result" ? "result" : `output "${r.output}"`;
        if (producer.kind !== "while" && "daemon" in producer && producer.daemon) {
          out.push(
            error(
              "daemon-value",
              `step "${s.name}" reads the ${what} of daemon step "${r.step}": a daemon keeps running in the background, so it never has one; have another step ask it (e.g. over the network) instead`,
              s.loc,
            ),
          );
          return;
        }
        if (!inCondition) {
          const waits = waitStates(s.depends, r.step);
          if (waits.length && waits.every((w) => NO_OUTPUT_STATES.has(w))) {
            out.push(
              error(
                "not-upstream",
                `step "${s.name}" uses the output of "${r.step}" but runs when "${r.step}" is ${waits.join("/")}, when that output may not exist`,
                s.loc,
              ),
            );
            return;
          }
          const lack = mayLack?.of(s, producer);
          if (lack?.has("failed") || lack?.has("omitted")) {
            const how = (["failed", "omitted"] as const).filter((x) => lack.has(x)).map((x) => (x === "failed" ? "failed" : "was omitted")).join(" or ");
            out.push(
              error(
                "may-not-exist",
                `step "${s.name}" uses the ${what} of "${r.step}" but may run after "${r.step}" ${how} (a step it waits for runs whatever happens), when that value does not exist; make it also wait for "${r.step}" to succeed (after: ["${r.step}"])`,
                s.loc,
              ),
            );
          } else if (lack?.has("skipped")) {
            out.push(
              warning(
                "may-not-exist",
                `step "${s.name}" uses the ${what} of "${r.step}", which is skipped when its condition is false, and then has none; put "${s.name}" under the same when(), or read the value only in the branch that produced it`,
                s.loc,
              ),
            );
          }
        }
      }
    }
  }

  for (const p of wf.params) {
    if (p.default !== undefined && TOKEN_CHARS.test(p.default)) {
      out.push(error("ref-in-text", `parameter "${p.name}": a default cannot refer to a parameter or step output`, p.loc));
    }
  }
  const unusedParams = new Set(params);
  for (const s of everything) {
    for (const r of refsOfStep(s)) if (r.kind === "param") unusedParams.delete(r.name);
    if (s.kind === "while") for (const v of valuesOfCondition(s.condition)) for (const r of refsOfValue(v)) if (r.kind === "param") unusedParams.delete(r.name);
  }
  for (const p of wf.params) {
    if (unusedParams.has(p.name)) out.push(warning("unused-param", `parameter "${p.name}" is never used`, p.loc));
  }
  return out;
}

type NoValue = "failed" | "omitted" | "skipped";
const ALL_NO_VALUE: ReadonlySet<NoValue> = new Set(["failed", "omitted", "skipped"]);
const NONE: ReadonlySet<NoValue> = new Set();

/**
 * In which of its no-value states (failed, omitted, skipped) may a producer be while a
 * consumer runs? Read off the `depends` formulas: an atom on the producer says it directly;
 * an atom `Y.ok` / `Y.succeeded` / `Y.failed` on another step means Y's own `depends` held,
 * so whatever that excludes stays excluded; `Y.omitted`, `Y.any` and negations exclude
 * nothing. Memoised per producer, so a graph costs one walk per producer read.
 */
class NoValueStates {
  private readonly memo = new Map<string, Map<string, ReadonlySet<NoValue>>>();
  constructor(private readonly byName: ReadonlyMap<string, Step>) {}

  of(consumer: Step, producer: Step): ReadonlySet<NoValue> {
    let m = this.memo.get(producer.name);
    if (!m) this.memo.set(producer.name, (m = new Map()));
    // A consumer under the producer's own condition is skipped with it.
    const own = conjuncts(consumer.when);
    const sameWhen = producer.when !== undefined && conjuncts(producer.when).every((p) => own.some((c) => sameCondition(p, c)));
    const states = this.formula(consumer.depends, producer, m);
    if (!sameWhen || !states.has("skipped")) return states;
    const out = new Set(states);
    out.delete("skipped");
    return out;
  }

  private formula(d: Depends | undefined, p: Step, m: Map<string, ReadonlySet<NoValue>>): ReadonlySet<NoValue> {
    if (!d) return ALL_NO_VALUE;
    switch (d.kind) {
      case "not":
        return ALL_NO_VALUE;
      case "and": {
        let acc: Set<NoValue> | undefined;
        // Atoms on the producer itself first: they usually settle it without a walk upstream.
        const direct = (x: Depends) => (x.kind === "on" && x.step === p.name ? 0 : 1);
        for (const x of [...d.of].sort((a, b) => direct(a) - direct(b))) {
          const s = this.formula(x, p, m);
          acc = acc ? new Set([...acc].filter((v) => s.has(v))) : new Set(s);
          if (acc.size === 0) return NONE;
        }
        return acc ?? ALL_NO_VALUE;
      }
      case "or": {
        const acc = new Set<NoValue>();
        for (const x of d.of) for (const v of this.formula(x, p, m)) acc.add(v);
        return acc;
      }
      case "on": {
        if (d.step === p.name) {
          switch (d.status) {
            case "succeeded":
            case "anySucceeded":
            case "daemoned":
              return NONE;
            case "ok":
              return p.when !== undefined ? new Set<NoValue>(["skipped"]) : NONE;
            case "failed":
            case "errored":
            case "allFailed":
              return new Set<NoValue>(["failed"]);
            case "skipped":
              return new Set<NoValue>(["skipped"]);
            case "omitted":
              return new Set<NoValue>(["omitted"]);
            default:
              return ALL_NO_VALUE;
          }
        }
        if (d.status === "omitted" || d.status === "any") return ALL_NO_VALUE;
        const y = this.byName.get(d.step);
        if (!y) return ALL_NO_VALUE;
        const have = m.get(y.name);
        if (have) return have;
        m.set(y.name, ALL_NO_VALUE); // a cycle (reported elsewhere) proves nothing
        const r = this.formula(y.depends, p, m);
        m.set(y.name, r);
        return r;
      }
    }
  }
}

function conjuncts(c: Condition | undefined): Condition[] {
  if (!c) return [];
  return c.kind === "and" ? c.of.flatMap((x) => conjuncts(x)) : [c];
}

function sameCondition(a: Condition, b: Condition): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** The states of `step` that `d` waits for, read off its atoms. */
function waitStates(d: Depends | undefined, step: string): string[] {
  return depAtoms(d)
    .filter((a) => a.step === step)
    .map((a) => a.status);
}

/** References only work as values; one that ended up in plain text (an image, a path) is a mistake. */
function checkText(s: Step, out: Diagnostic[]): void {
  // The common case, no marker anywhere, without building the list of fields.
  if (isPodStep(s) && !s.outputs?.length && !s.outputArtifacts?.length && !s.inputArtifacts?.length && s.kind === "container") {
    if (!TOKEN_CHARS.test(s.image) && (s.workingDir === undefined || !TOKEN_CHARS.test(s.workingDir))) return;
  }
  const fields: [string, string | undefined][] = [];
  if (isPodStep(s)) {
    fields.push(["image", s.image], ["workingDir", s.workingDir]);
    if (s.kind === "script") fields.push(["source", s.source]);
    for (const a of s.outputArtifacts ?? []) fields.push([`artifact "${a.name}" path`, a.path]);
    for (const a of s.inputArtifacts ?? []) fields.push([`artifact "${a.name}" path`, a.path]);
  }
  if (s.kind === "resource") fields.push(["manifest", s.manifest]);
  for (const o of s.outputs ?? []) fields.push([`output "${o.name}" path`, o.path ?? o.jsonPath]);
  for (const [what, text] of fields) {
    const handle = text !== undefined ? handleInText(text) : undefined;
    if (handle !== undefined) {
      out.push(error("handle-as-text", `step "${s.name}": ${what}: ${handleMistake(handle)}`, s.loc));
    } else if (text !== undefined && TOKEN_CHARS.test(text)) {
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
