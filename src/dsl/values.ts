/**
 * Values in the DSL: literals, workflow parameters and step outputs.
 *
 * A reference is a `ValueRef` object. So that it also works inside template literals
 * (`` `--day=${day}` ``), its `toString()` is a self-describing token in Unicode
 * private-use brackets; `toValue` parses such tokens back into IR `Concat` parts. A token
 * names its ref completely, so no registry (and no shared state) is needed.
 */
import type { Ref, Value } from "../ir/types.js";

const OPEN = "\uE000";
const CLOSE = "\uE001";
const TOKEN_RE = /\uE000(p|r|o|i|w):([^\uE000\uE001]*)\uE001/g;
/** What a step handle turns into as text: its name, marked so that a value can refuse it. */
const HANDLE_RE = /\uE000h:([^\uE000\uE001]*)\uE001/g;

/** Brand of step handles, so values can recognise one without importing steps.ts. */
export const HANDLE_BRAND: unique symbol = Symbol.for("couler.handle") as never;

/** The text a step handle becomes in a template string: `${build}`. */
export function handleToken(name: string): string {
  return `${OPEN}h:${name}${CLOSE}`;
}

/** Where text names a step (`after`, dependency text, stepName), `${build}` means "build". */
export function handleNames(text: string): string {
  return text.includes(OPEN) ? text.replace(HANDLE_RE, (_m, name: string) => name) : text;
}

export function handleMistake(name: string): string {
  return `step handle "${name}" used as text would become the word "${name}": use the handle's .result (or .output("name")) for a value, or the string "${name}" for its name`;
}

/** The name of the first step handle used as text in `text`, if any. */
export function handleInText(text: string): string | undefined {
  return text.includes(OPEN) ? new RegExp(HANDLE_RE.source).exec(text)?.[1] : undefined;
}

export const REF_BRAND: unique symbol = Symbol.for("couler.ref") as never;

/** A run-time value: a workflow parameter, or a step's result or output. */
export class ValueRef {
  readonly [REF_BRAND] = true;
  constructor(readonly ref: Ref) {
    Object.freeze(this);
  }
  toString(): string {
    switch (this.ref.kind) {
      case "param":
        return `${OPEN}p:${this.ref.name}${CLOSE}`;
      case "result":
        return `${OPEN}r:${this.ref.step}${CLOSE}`;
      case "output":
        return `${OPEN}o:${this.ref.step}:${this.ref.output}${CLOSE}`;
      case "item":
        return `${OPEN}i:${this.ref.index ?? ""}:${this.ref.field ?? ""}${CLOSE}`;
      case "workflow":
        return `${OPEN}w:${this.ref.field}${CLOSE}`;
    }
  }
  toJSON(): Ref {
    return this.ref;
  }
}

export function isValueRef(x: unknown): x is ValueRef {
  return typeof x === "object" && x !== null && (x as Record<symbol, unknown>)[REF_BRAND] === true;
}

/** What the DSL accepts wherever a value goes. Numbers and booleans become strings. */
export type Input = string | number | boolean | ValueRef;

function parseToken(kind: string, body: string): Ref | undefined {
  if (kind === "p") return { kind: "param", name: body };
  if (kind === "r") return { kind: "result", step: body };
  if (kind === "w") return body === "name" || body === "status" ? { kind: "workflow", field: body } : undefined;
  if (kind === "i") {
    const [index, field] = body.split(":");
    const ref: { kind: "item"; index?: number; field?: string } = { kind: "item" };
    if (index) ref.index = Number(index);
    if (field) ref.field = field;
    return ref;
  }
  const i = body.indexOf(":");
  if (i < 0) return undefined;
  return { kind: "output", step: body.slice(0, i), output: body.slice(i + 1) };
}

/**
 * Turn a DSL input into an IR value. Returns an error message for inputs that are not
 * values (undefined, objects, arrays...).
 */
export function toValue(x: unknown): Value | { error: string } {
  if (isValueRef(x)) return x.ref;
  if (typeof x === "object" && x !== null && HANDLE_BRAND in x) return { error: handleMistake(String((x as unknown as { name: unknown }).name)) };
  if (typeof x === "number") {
    if (!Number.isFinite(x)) return { error: `${x} is not a finite number` };
    return String(x);
  }
  if (typeof x === "boolean") return String(x);
  if (typeof x !== "string") {
    return { error: `expected a string, number, boolean, param or step output, got ${describe(x)}` };
  }
  if (!x.includes(OPEN)) return x;
  const handle = new RegExp(HANDLE_RE.source).exec(x);
  if (handle) return { error: handleMistake(handle[1]!) };
  const parts: (string | Ref)[] = [];
  let last = 0;
  for (const m of x.matchAll(TOKEN_RE)) {
    const ref = parseToken(m[1]!, m[2]!);
    if (!ref) continue;
    if (m.index! > last) parts.push(x.slice(last, m.index));
    parts.push(ref);
    last = m.index! + m[0].length;
  }
  if (last < x.length) parts.push(x.slice(last));
  if (parts.length === 1 && typeof parts[0] !== "string") return parts[0]!;
  if (parts.every((p) => typeof p === "string")) return parts.join("");
  return { kind: "concat", parts };
}

export function describe(x: unknown): string {
  if (x === undefined) return "undefined";
  if (x === null) return "null";
  if (Array.isArray(x)) return "an array";
  if (typeof x === "function") return "a function";
  if (typeof x === "object") return "an object";
  return `${typeof x} ${JSON.stringify(x)}`;
}
