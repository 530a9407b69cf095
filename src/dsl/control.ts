/**
 * Control flow: predicates, `when` / `otherwise`, `map`, `execWhile`, `setExitHandler`.
 * Each is a Couler call in camelCase; each lowers to plain IR fields (`when`, `loop`, a
 * `while` step, `onExit`) that every backend reads.
 */
import type { Condition, CondCompare, Loop, Value } from "../ir/types.js";
import { currentScope, type StepDraft, type WorkflowScope } from "./scope.js";
import { StepHandle, STEP_NAME_RE } from "./steps.js";
import { describe, type Input, isValueRef, toValue, ValueRef } from "./values.js";

type Op = CondCompare["op"];

/**
 * A condition built from predicates. Made by `equal`, `notEqual`, `bigger`, `smaller`,
 * `biggerEqual`, `smallerEqual`, and combined with `and`, `or`, `not`. A one-value
 * predicate (`equal("tails")`) compares the result of an `execWhile` body's last step.
 */
export class Predicate {
  private constructor(
    private readonly node:
      | { kind: "compare"; op: Op; values: readonly unknown[] }
      | { kind: "and" | "or"; of: readonly Predicate[] }
      | { kind: "not"; of: Predicate },
  ) {
    Object.freeze(this);
  }

  static compare(op: Op, values: readonly unknown[]): Predicate {
    return new Predicate({ kind: "compare", op, values });
  }
  static combine(kind: "and" | "or", of: readonly Predicate[]): Predicate {
    return new Predicate({ kind, of });
  }
  static negate(of: Predicate): Predicate {
    return new Predicate({ kind: "not", of });
  }

  /** The IR condition; `implicitLeft` stands in for the missing value of one-value predicates. */
  toCondition(implicitLeft: Value | undefined, fail: (msg: string) => void): Condition | undefined {
    const n = this.node;
    if (n.kind === "compare") {
      const vals = n.values.map((v) => toValue(v));
      for (const v of vals) {
        if (typeof v === "object" && "error" in v) {
          fail(`a predicate value: ${v.error}`);
          return undefined;
        }
      }
      const [a, b] = vals as Value[];
      if (vals.length === 2) return { kind: "compare", op: n.op, left: a!, right: b! };
      if (implicitLeft === undefined) {
        fail(`${OP_NAMES[n.op]}() needs two values here (the one-value form only works in execWhile)`);
        return undefined;
      }
      return { kind: "compare", op: n.op, left: implicitLeft, right: a! };
    }
    if (n.kind === "not") {
      const c = n.of.toCondition(implicitLeft, fail);
      return c && { kind: "not", of: c };
    }
    const parts = n.of.map((p) => p.toCondition(implicitLeft, fail));
    if (parts.some((p) => p === undefined)) return undefined;
    if (parts.length === 1) return parts[0];
    return { kind: n.kind, of: parts as Condition[] };
  }
}

const OP_NAMES: Record<Op, string> = {
  eq: "equal",
  ne: "notEqual",
  gt: "bigger",
  lt: "smaller",
  ge: "biggerEqual",
  le: "smallerEqual",
};

function predicate(op: Op, args: unknown[]): Predicate {
  if (args.length < 1 || args.length > 2) {
    const scope = currentScope(OP_NAMES[op]);
    scope.diagnostics.error("invalid-option", `${OP_NAMES[op]}() takes one or two values, got ${args.length}`, scope.here());
  }
  return Predicate.compare(op, args.slice(0, 2));
}

/** `equal(a, b)`: a and b are the same text. `equal(b)` in execWhile: the body's last result is b. */
export function equal(a: Input, b?: Input): Predicate {
  return predicate("eq", b === undefined ? [a] : [a, b]);
}
/** `notEqual(a, b)`: a and b differ. */
export function notEqual(a: Input, b?: Input): Predicate {
  return predicate("ne", b === undefined ? [a] : [a, b]);
}
/** `bigger(a, b)`: a > b as numbers. */
export function bigger(a: Input, b?: Input): Predicate {
  return predicate("gt", b === undefined ? [a] : [a, b]);
}
/** `smaller(a, b)`: a < b as numbers. */
export function smaller(a: Input, b?: Input): Predicate {
  return predicate("lt", b === undefined ? [a] : [a, b]);
}
/** `biggerEqual(a, b)`: a >= b as numbers. */
export function biggerEqual(a: Input, b?: Input): Predicate {
  return predicate("ge", b === undefined ? [a] : [a, b]);
}
/** `smallerEqual(a, b)`: a <= b as numbers. */
export function smallerEqual(a: Input, b?: Input): Predicate {
  return predicate("le", b === undefined ? [a] : [a, b]);
}
/** All of the predicates hold. */
export function and(...preds: Predicate[]): Predicate {
  return Predicate.combine("and", preds);
}
/** At least one of the predicates holds. */
export function or(...preds: Predicate[]): Predicate {
  return Predicate.combine("or", preds);
}
/** The predicate does not hold. */
export function not(pred: Predicate): Predicate {
  return Predicate.negate(pred);
}

function conditionOf(scope: WorkflowScope, fnName: string, p: unknown, implicitLeft?: Value): Condition | undefined {
  const loc = scope.here();
  if (!(p instanceof Predicate)) {
    scope.diagnostics.error("invalid-option", `${fnName}(): the condition must be a predicate such as equal(a, b), got ${describe(p)}`, loc);
    return undefined;
  }
  return p.toCondition(implicitLeft, (m) => scope.diagnostics.error("invalid-condition", `${fnName}(): ${m}`, loc));
}

/** What `when()` returns: add the branch that runs when the condition does not hold. */
export interface WhenBlock {
  otherwise(fn: () => unknown): void;
}

/**
 * Run what `fn` creates only when `condition` holds; `.otherwise(fn)` adds the else branch.
 * The step after the block waits for whichever branch ran.
 * ```ts
 * const flip = runScript({ image: "python:3.12", source: "import random; print(random.choice(['heads', 'tails']))" });
 * when(equal(flip.result, "heads"), () => heads()).otherwise(() => tails());
 * ```
 */
export function when(condition: Predicate, fn: () => unknown, otherwiseFn?: () => unknown): WhenBlock {
  const scope = currentScope("when");
  const loc = scope.here();
  const cond = conditionOf(scope, "when", condition);
  const before = scope.seq.frontier;
  const runBranch = (c: Condition | undefined, f: () => unknown) => {
    if (c) scope.conditions.push(c);
    try {
      f();
    } finally {
      if (c) scope.conditions.pop();
    }
  };
  if (typeof fn !== "function") scope.diagnostics.error("invalid-option", `when(): the second argument must be a function, got ${describe(fn)}`, loc);
  else runBranch(cond, fn);
  const thenEnd = scope.seq.frontier;
  const stepsAfterThen = scope.byName.size;
  let used = false;
  const otherwise = (f: () => unknown) => {
    const oloc = scope.here();
    if (used) {
      scope.diagnostics.error("invalid-option", "otherwise() was already given for this when()", oloc);
      return;
    }
    used = true;
    if (scope.byName.size !== stepsAfterThen) {
      scope.diagnostics.error("invalid-option", "otherwise() must directly follow its when(), before any other step", oloc);
      return;
    }
    if (typeof f !== "function") {
      scope.diagnostics.error("invalid-option", `otherwise(): expects a function, got ${describe(f)}`, oloc);
      return;
    }
    scope.setFrontier(before);
    runBranch(cond && { kind: "not", of: cond }, f);
    const elseEnd = scope.seq.frontier;
    const seen = new Set<string>();
    scope.setFrontier([...thenEnd, ...elseEnd].filter((d) => {
      const k = JSON.stringify(d);
      return !seen.has(k) && seen.add(k);
    }));
  };
  if (otherwiseFn !== undefined) otherwise(otherwiseFn);
  return Object.freeze({ otherwise });
}

/** An item of a `map()`: the whole item, or `.field(name)` of an object item. */
export class MapItem extends ValueRef {
  /** A key of an object item (run-time lists of JSON objects). */
  field(name: string): ValueRef {
    return new ValueRef({ ...(this.ref as { kind: "item"; index?: number }), field: name });
  }
}

export interface MapOptions {
  /** At most this many instances at once. */
  parallelism?: number;
}

type ListArg = readonly (string | number | boolean)[];

/**
 * Fan out: run the one step `fn` creates once per item.
 * - `map((x) => step(x), [1, 2, 3])`: a static list;
 * - `map((x, y) => step(x, y), xs, ys)`: several lists zipped;
 * - `map((x) => step(x), producer.result)`: a JSON list produced at run time.
 * A later step that reads the mapped step's `.result` or outputs gets the JSON list of
 * every instance's value (fan-in).
 * ```ts
 * const each = map((n) => runContainer({ image: "alpine", command: ["echo", n] }), [1, 2, 3]);
 * ```
 */
export function map(fn: (...items: MapItem[]) => unknown, ...args: (ListArg | ValueRef | MapOptions)[]): StepHandle | undefined {
  const scope = currentScope("map");
  const loc = scope.here();
  const err = (m: string) => scope.diagnostics.error("invalid-option", `map(): ${m}`, loc);
  let options: MapOptions = {};
  const last = args[args.length - 1];
  if (last !== undefined && typeof last === "object" && !Array.isArray(last) && !isValueRef(last)) {
    options = last as MapOptions;
    args = args.slice(0, -1);
  }
  if (typeof fn !== "function") {
    err(`the first argument must be a function, got ${describe(fn)}`);
    return undefined;
  }
  if (scope.pendingLoop) {
    err("map() cannot be nested in another map()'s function; map over a list of combinations instead");
    return undefined;
  }
  if (args.length === 0) {
    err("give at least one list (or a step output holding a JSON list) to map over");
    return undefined;
  }
  let loop: Loop;
  let items: MapItem[];
  if (args.length === 1 && isValueRef(args[0])) {
    const ref = (args[0] as ValueRef).ref;
    if (ref.kind !== "param" && ref.kind !== "result" && ref.kind !== "output") {
      err("the run-time list must be a parameter or a step's result or output");
      return undefined;
    }
    loop = { kind: "from", source: ref };
    items = [new MapItem({ kind: "item" })];
  } else {
    const lists: string[][] = [];
    for (const [i, a] of args.entries()) {
      if (!Array.isArray(a)) {
        err(`argument ${i + 2} must be a list of values (or a single step output), got ${describe(a)}`);
        return undefined;
      }
      const list: string[] = [];
      for (const v of a) {
        if (typeof v === "string" || typeof v === "number" || typeof v === "boolean") list.push(String(v));
        else {
          err(`list ${i + 1} holds ${describe(v)}; static items must be strings, numbers or booleans`);
          return undefined;
        }
      }
      lists.push(list);
    }
    const n = lists[0]!.length;
    if (lists.some((l) => l.length !== n)) {
      err(`zipped lists must have the same length, got ${lists.map((l) => l.length).join(", ")}`);
      return undefined;
    }
    loop = { kind: "items", items: Array.from({ length: n }, (_, r) => lists.map((l) => l[r]!)) };
    items = lists.length === 1 ? [new MapItem({ kind: "item" })] : lists.map((_, i) => new MapItem({ kind: "item", index: i }));
  }
  if (options.parallelism !== undefined) {
    if (!Number.isInteger(options.parallelism) || options.parallelism < 1) err(`parallelism must be a whole number >= 1, got ${describe(options.parallelism)}`);
    else loop = { ...loop, parallelism: options.parallelism };
  }
  const pending = { loop, created: [] as string[] };
  scope.pendingLoop = pending;
  let ret: unknown;
  try {
    ret = fn(...items);
  } finally {
    scope.pendingLoop = undefined;
  }
  if (pending.created.length !== 1) {
    err(
      pending.created.length === 0
        ? "the function created no step; it must create exactly one (runContainer, runScript, runJob...)"
        : `the function created ${pending.created.length} steps (${pending.created.join(", ")}); it must create exactly one`,
    );
  }
  if (ret instanceof StepHandle) return ret;
  const name = pending.created[0];
  return name !== undefined ? new StepHandle(name, (scope.byName.get(name)?.step.outputs ?? []).map((o) => o.name), scope) : undefined;
}

/**
 * Repeat what `fn` creates while `condition` holds, checked after each round. A one-value
 * predicate compares the result of the body's last step, as in Couler.
 * ```ts
 * execWhile(equal("tails"), () => runScript({ image: "python:3.12", source: flipCoin }));
 * ```
 */
export function execWhile(condition: Predicate, fn: () => unknown, opts: { stepName?: string } = {}): StepHandle | undefined {
  const scope = currentScope("execWhile");
  const loc = scope.here();
  if (typeof fn !== "function") {
    scope.diagnostics.error("invalid-option", `execWhile(): the second argument must be a function, got ${describe(fn)}`, loc);
    return undefined;
  }
  if (scope.pendingLoop || scope.dagDepth > 0) {
    scope.diagnostics.error("invalid-option", "execWhile() cannot be used inside map() or dag()", loc);
    return undefined;
  }
  const body: StepDraft[] = [];
  scope.inList(body, () => void fn());
  const lastStep = body[body.length - 1];
  const cond = conditionOf(scope, "execWhile", condition, lastStep ? { kind: "result", step: lastStep.step.name } : undefined);
  let name = opts.stepName;
  if (name === undefined) name = scope.autoName("while");
  else if (!STEP_NAME_RE.test(name) || scope.byName.has(name)) {
    scope.diagnostics.error("invalid-name", `execWhile(): step name ${JSON.stringify(name)} is invalid or already used`, loc);
  }
  const draft: StepDraft = {
    step: { kind: "while", name, loc, condition: cond ?? { kind: "compare", op: "eq", left: "", right: "" }, body: [] },
    deps: [],
    body,
  };
  if (!cond) scope.diagnostics.error("invalid-condition", "execWhile(): the loop has no valid condition", loc);
  scope.addStep(draft);
  scope.lastTouched = name;
  return new StepHandle(name, [], scope);
}

/**
 * Steps to run when the workflow ends: with a status (`WFStatus.Succeeded`, `Failed`,
 * `Error`) only when it ended so; without one (or `"always"`), whatever the outcome.
 * ```ts
 * setExitHandler(WFStatus.Failed, () => runContainer({ image: "alpine", command: ["echo", "failed"] }));
 * ```
 */
export function setExitHandler(status: string | (() => unknown), fn?: () => unknown): void {
  const scope = currentScope("setExitHandler");
  const loc = scope.here();
  const body = typeof status === "function" ? status : fn;
  const st = typeof status === "function" ? "always" : status;
  if (typeof body !== "function") {
    scope.diagnostics.error("invalid-option", `setExitHandler(): expects a function, got ${describe(body)}`, loc);
    return;
  }
  if (!["Succeeded", "Failed", "Error", "always"].includes(st)) {
    scope.diagnostics.error("invalid-option", `setExitHandler(): status must be WFStatus.Succeeded, WFStatus.Failed, WFStatus.Error or "always", got ${describe(st)}`, loc);
    return;
  }
  if (scope.inExitHandler || scope.dagDepth > 0 || scope.pendingLoop) {
    scope.diagnostics.error("invalid-option", "setExitHandler() must be called at the top level of the workflow body", loc);
    return;
  }
  const cond: Condition | undefined =
    st === "always" ? undefined : { kind: "compare", op: "eq", left: { kind: "workflow", field: "status" }, right: st };
  const saved = scope.conditions.splice(0);
  scope.inExitHandler = true;
  try {
    if (cond) scope.conditions.push(cond);
    scope.inList(scope.onExit, () => void body());
  } finally {
    scope.conditions.splice(0, scope.conditions.length, ...saved);
    scope.inExitHandler = false;
  }
}

/** The running workflow's name, as a value. */
export function workflowName(): ValueRef {
  currentScope("workflowName");
  return new ValueRef({ kind: "workflow", field: "name" });
}

/** The workflow's final status (`Succeeded`, `Failed`, `Error`), as a value: only in exit handlers. */
export function workflowStatus(): ValueRef {
  currentScope("workflowStatus");
  return new ValueRef({ kind: "workflow", field: "status" });
}

export type { Input };
