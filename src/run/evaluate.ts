/**
 * Values, conditions and dependency expressions evaluated at run time, the way the
 * IR's doc comments define them. Anything that cannot be evaluated (a missing output, a
 * non-number in `gt`) is an `EvalError`, which the interpreter turns into an errored step.
 */
import type { Condition, Depends, DepStatus, Ref, Value } from "../ir/types.js";

export class EvalError extends Error {
  override name = "EvalError";
}

/** The current `map` item: a static row of values, or one element of a run-time JSON list. */
export type Item = { readonly kind: "row"; readonly row: readonly string[] } | { readonly kind: "json"; readonly value: unknown };

/** What references resolve against. */
export interface EvalScope {
  param(name: string): string;
  /** A step's result (`output` undefined) or declared output; a JSON list for a fanned-out step. */
  stepValue(step: string, output: string | undefined): string;
  readonly workflowName: string;
  readonly workflowStatus?: string;
  readonly item?: Item;
}

/** JSON values become text the way engines substitute them: strings as is, anything else as JSON. */
export function jsonText(v: unknown): string {
  return typeof v === "string" ? v : JSON.stringify(v) ?? "null";
}

/** The text of one item, as shown in the run record and substituted for a whole-item reference. */
export function itemText(item: Item): string {
  if (item.kind === "json") return jsonText(item.value);
  return item.row.length === 1 ? item.row[0]! : JSON.stringify(item.row);
}

function itemRef(r: Extract<Ref, { kind: "item" }>, item: Item | undefined): string {
  if (!item) throw new EvalError("a map item is used outside map()");
  if (item.kind === "row") {
    if (r.field !== undefined) throw new EvalError(`map item field "${r.field}" used on a static list`);
    if (r.index === undefined) return itemText(item);
    const v = item.row[r.index];
    if (v === undefined) throw new EvalError(`map item has no value #${r.index + 1}`);
    return v;
  }
  let v = item.value;
  if (r.index !== undefined) {
    if (!Array.isArray(v) || r.index >= v.length) throw new EvalError(`map item ${jsonText(v)} has no element #${r.index + 1}`);
    v = v[r.index];
  }
  if (r.field !== undefined) {
    if (v === null || typeof v !== "object" || Array.isArray(v) || !Object.hasOwn(v, r.field)) {
      throw new EvalError(`map item ${jsonText(v)} has no field "${r.field}"`);
    }
    v = (v as Record<string, unknown>)[r.field];
  }
  return jsonText(v);
}

export function renderRef(r: Ref, s: EvalScope): string {
  switch (r.kind) {
    case "param":
      return s.param(r.name);
    case "result":
      return s.stepValue(r.step, undefined);
    case "output":
      return s.stepValue(r.step, r.output);
    case "item":
      return itemRef(r, s.item);
    case "workflow":
      if (r.field === "name") return s.workflowName;
      if (s.workflowStatus === undefined) throw new EvalError("the workflow's status is only known in the exit handler");
      return s.workflowStatus;
  }
}

/** A value as the text a step receives. */
export function renderValue(v: Value, s: EvalScope): string {
  if (typeof v === "string") return v;
  if (v.kind === "concat") return v.parts.map((p) => (typeof p === "string" ? p : renderRef(p, s))).join("");
  return renderRef(v, s);
}

function num(text: string, side: string): number {
  const t = text.trim();
  const n = t === "" ? NaN : Number(t);
  if (!Number.isFinite(n)) throw new EvalError(`cannot compare ${JSON.stringify(text)} (${side}) as a number`);
  return n;
}

export function evalCondition(c: Condition, s: EvalScope): boolean {
  switch (c.kind) {
    case "and":
      return c.of.every((x) => evalCondition(x, s));
    case "or":
      return c.of.some((x) => evalCondition(x, s));
    case "not":
      return !evalCondition(c.of, s);
    case "compare": {
      const l = renderValue(c.left, s);
      const r = renderValue(c.right, s);
      switch (c.op) {
        case "eq":
          return l === r;
        case "ne":
          return l !== r;
        case "gt":
          return num(l, "left") > num(r, "right");
        case "lt":
          return num(l, "left") < num(r, "right");
        case "ge":
          return num(l, "left") >= num(r, "right");
        case "le":
          return num(l, "left") <= num(r, "right");
      }
    }
  }
}

/** Condition text for messages and graphs, e.g. `flip.result == "heads"`. */
export function conditionText(c: Condition): string {
  const OPS = { eq: "==", ne: "!=", gt: ">", lt: "<", ge: ">=", le: "<=" } as const;
  switch (c.kind) {
    case "compare":
      return `${valueText(c.left)} ${OPS[c.op]} ${valueText(c.right)}`;
    case "and":
    case "or":
      return c.of.map((x) => (x.kind === "compare" || x.kind === "not" ? conditionText(x) : `(${conditionText(x)})`)).join(c.kind === "and" ? " && " : " || ");
    case "not":
      return c.of.kind === "compare" ? `!(${conditionText(c.of)})` : `!${conditionText(c.of)}`;
  }
}

export function refText(r: Ref): string {
  switch (r.kind) {
    case "param":
      return `param.${r.name}`;
    case "result":
      return `${r.step}.result`;
    case "output":
      return `${r.step}.outputs.${r.output}`;
    case "item":
      return r.field !== undefined ? `item.${r.field}` : r.index !== undefined ? `item[${r.index}]` : "item";
    case "workflow":
      return `workflow.${r.field}`;
  }
}

/** A value for display: a literal is quoted, references are named, concatenations are template text. */
export function valueText(v: Value): string {
  if (typeof v === "string") return JSON.stringify(v);
  if (v.kind === "concat") return `\`${v.parts.map((p) => (typeof p === "string" ? p.replace(/[`\\]|\$\{/g, (m) => `\\${m}`) : `\${${refText(p)}}`)).join("")}\``;
  return refText(v);
}

/** What a dependency atom can observe about an upstream step once it finished. */
export interface Finished {
  /** `succeeded`, `failed`, `skipped` or `omitted`. */
  readonly status: "succeeded" | "failed" | "skipped" | "omitted";
  readonly errored: boolean;
  readonly daemoned: boolean;
  /** For a fanned-out step: how many instances ran, and how many succeeded / failed. */
  readonly instances?: { readonly succeeded: number; readonly failed: number; readonly total: number };
}

export function atomHolds(st: DepStatus, f: Finished): boolean {
  const failedPlain = f.status === "failed" && !f.errored;
  const erroredOnly = f.status === "failed" && f.errored;
  switch (st) {
    case "ok":
      // A bare dependency: the parent succeeded, or was skipped by its own condition, or is a
      // running daemon. An omitted parent (its own dependencies failed) omits this step too,
      // as every engine propagates it (see the README, "Ordering").
      return f.status === "succeeded" || f.status === "skipped" || f.daemoned;
    case "succeeded":
      return f.status === "succeeded";
    case "failed":
      return failedPlain;
    case "errored":
      return erroredOnly;
    case "skipped":
      return f.status === "skipped";
    case "omitted":
      return f.status === "omitted";
    case "daemoned":
      return f.daemoned;
    case "anySucceeded":
      return f.instances ? f.instances.succeeded > 0 : f.status === "succeeded";
    case "allFailed":
      return f.instances ? f.instances.total > 0 && f.instances.failed === f.instances.total : f.status === "failed";
    case "any":
      return true;
  }
}

/** Evaluate `depends` once every step it names has finished. */
export function evalDepends(d: Depends, finished: (step: string) => Finished): boolean {
  switch (d.kind) {
    case "on":
      return atomHolds(d.status, finished(d.step));
    case "and":
      return d.of.every((x) => evalDepends(x, finished));
    case "or":
      return d.of.some((x) => evalDepends(x, finished));
    case "not":
      return !evalDepends(d.of, finished);
  }
}

/** Statuses that say "I run when that step did not succeed": a dependent with one handles the failure. */
export const HANDLES_FAILURE: ReadonlySet<DepStatus> = new Set(["failed", "errored", "any", "allFailed", "anySucceeded"]);
