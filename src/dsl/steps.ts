/** `runContainer`, `runScript` and the step handles they return. */
import { suggest } from "../diagnostics.js";
import type {
  EnvVar,
  Loc,
  OutputDecl,
  Resources,
  Retry,
  ScriptStep,
  SecretEnv,
  Step,
  Value,
} from "../ir/types.js";
import { functionBody } from "./function-source.js";
import { currentScope, on, type StepDraft, type WorkflowScope } from "./scope.js";
import { describe, type Input, toValue, ValueRef } from "./values.js";

// ---------------------------------------------------------------- public option types

/** A reference to keys of an existing secret; made by `obtainSecret`. */
export interface SecretSource {
  readonly kind: "secret";
  readonly name: string;
  readonly namespace?: string;
  /** env var name → key in the secret */
  readonly keys: Readonly<Record<string, string>>;
  readonly loc: Loc;
}

/** An output parameter read from a file; made by `createParameterArtifact`. */
export interface ParameterOutput {
  readonly kind: "parameter";
  readonly path: string;
  readonly name?: string;
  readonly loc: Loc;
}

export type Duration = number | string;

export interface RetryOptions {
  /** Retries after the first attempt. */
  limit: number;
  backoff?: { duration: Duration; factor?: number; maxDuration?: Duration };
}

export type ResourceList = Record<string, string | number>;

export interface StepOptions {
  image: string;
  command?: Input | readonly Input[];
  args?: readonly Input[];
  env?: Readonly<Record<string, Input>>;
  secret?: SecretSource | readonly SecretSource[];
  /** `{ requests, limits }`, or Couler's flat `{ cpu, memory }` meaning both. */
  resources?: { requests?: ResourceList; limits?: ResourceList } | ResourceList;
  /** Seconds, or a duration such as `"90s"`, `"5m"`, `"1h30m"`. */
  timeout?: Duration;
  /** A bare number is the retry limit. */
  retry?: number | RetryOptions;
  stepName?: string;
  imagePullPolicy?: "Always" | "IfNotPresent" | "Never";
  workingDir?: string;
  nodeSelector?: Readonly<Record<string, string>>;
  output?: ParameterOutput | readonly ParameterOutput[];
  /** Steps this one runs after, in addition to where it was called. */
  after?: StepHandle | string | readonly (StepHandle | string)[];
}

export interface ScriptOptions extends Omit<StepOptions, "command" | "args"> {
  /** Script text, or a function whose body becomes the (JavaScript) script. */
  source: string | ((...args: never[]) => unknown);
  /** The interpreter; default `["python"]` for text, `["node"]` for a function. */
  command?: Input | readonly Input[];
  args?: readonly Input[];
}

// ---------------------------------------------------------------- handles

/** What `runContainer`/`runScript` return: names the step and its outputs. */
export class StepHandle {
  /** The step's standard output. */
  readonly result: ValueRef;
  /**
   * Declared outputs, by position (Couler's `outputs[0]`) and by name (`outputs.model`).
   * An unknown name still yields a reference, reported when the workflow is validated.
   */
  readonly outputs: readonly ValueRef[] & Readonly<Record<string, ValueRef>>;

  constructor(
    readonly name: string,
    outputNames: readonly string[],
    private readonly scope: WorkflowScope,
  ) {
    this.result = new ValueRef({ kind: "result", step: name });
    const list = outputNames.map((o) => new ValueRef({ kind: "output", step: name, output: o }));
    for (const [i, o] of outputNames.entries()) Object.defineProperty(list, o, { value: list[i], enumerable: false });
    this.outputs = new Proxy(Object.freeze(list), {
      get(target, prop, receiver) {
        if (typeof prop === "string" && !(prop in target) && !/^\d+$/.test(prop)) {
          return new ValueRef({ kind: "output", step: name, output: prop });
        }
        return Reflect.get(target, prop, receiver);
      },
    }) as never;
  }

  /** The output named `name` (validated when the workflow is built). */
  output(name: string): ValueRef {
    return new ValueRef({ kind: "output", step: this.name, output: name });
  }

  /** Make this step also wait for `steps` (handles or names) to finish successfully. */
  after(...steps: (StepHandle | string)[]): this {
    const draft = this.scope.byName.get(this.name);
    if (draft) for (const s of steps) draft.deps.push(on(typeof s === "string" ? s : s.name));
    return this;
  }

  toString(): string {
    return this.name;
  }
}

// ---------------------------------------------------------------- helpers

const DURATION_RE = /^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s)?$/;

/** Seconds from a number or a `1h30m`-style string; undefined when not a duration. */
export function parseDuration(d: unknown): number | undefined {
  if (typeof d === "number") return Number.isFinite(d) && d >= 0 ? d : undefined;
  if (typeof d !== "string" || d === "") return undefined;
  if (/^\d+(\.\d+)?$/.test(d)) return Number(d);
  const m = DURATION_RE.exec(d);
  if (!m || (!m[1] && !m[2] && !m[3])) return undefined;
  return Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0);
}

/** `python:3.12-alpine` → `python`; `ghcr.io/org/tool@sha256:…` → `tool`. */
export function nameFromImage(image: string): string {
  const last = image.split("@")[0]!.split("/").pop() ?? "";
  const bare = last.split(":")[0] ?? "";
  return kebab(bare) || "step";
}

export function kebab(s: string): string {
  return s
    .replace(/([a-z0-9])([A-Z])/g, "$1-$2")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "");
}

/** Names the IR accepts for steps: letters, digits, `-` and `_`, starting with a letter or digit. */
export const STEP_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;
/** Names of params, outputs and env vars. */
export const IDENT_RE = /^[A-Za-z_][A-Za-z0-9_-]*$/;
export const ENV_NAME_RE = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

const KNOWN_STEP_KEYS = new Set([
  "image",
  "command",
  "args",
  "env",
  "secret",
  "resources",
  "timeout",
  "retry",
  "stepName",
  "imagePullPolicy",
  "workingDir",
  "nodeSelector",
  "output",
  "after",
]);

class StepBuilder {
  constructor(
    readonly scope: WorkflowScope,
    readonly loc: Loc,
    readonly fn: string,
  ) {}

  err(message: string): void {
    this.scope.diagnostics.error("invalid-option", `${this.fn}(): ${message}`, this.loc);
  }

  value(x: unknown, what: string): Value {
    const v = toValue(x);
    if (typeof v === "object" && "error" in v) {
      this.err(`${what}: ${v.error}`);
      return "";
    }
    return v;
  }

  values(x: unknown, what: string): Value[] | undefined {
    if (x === undefined) return undefined;
    const list = Array.isArray(x) ? x : [x];
    return list.map((v, i) => this.value(v, `${what}[${i}]`));
  }

  stringMap(x: unknown, what: string): Record<string, string> | undefined {
    if (x === undefined) return undefined;
    if (typeof x !== "object" || x === null || Array.isArray(x)) {
      this.err(`${what} must be an object of strings, got ${describe(x)}`);
      return undefined;
    }
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(x)) {
      if (typeof v === "string" || typeof v === "number" || typeof v === "boolean") out[k] = String(v);
      else this.err(`${what}.${k} must be a string, got ${describe(v)}`);
    }
    return out;
  }

  resources(x: StepOptions["resources"]): Resources | undefined {
    if (x === undefined) return undefined;
    if (typeof x !== "object" || x === null) {
      this.err(`resources must be an object, got ${describe(x)}`);
      return undefined;
    }
    const keys = Object.keys(x);
    const split = keys.length > 0 && keys.every((k) => k === "requests" || k === "limits");
    if (split) {
      const r = x as { requests?: ResourceList; limits?: ResourceList };
      const out: { requests?: Record<string, string>; limits?: Record<string, string> } = {};
      const req = this.stringMap(r.requests, "resources.requests");
      const lim = this.stringMap(r.limits, "resources.limits");
      if (req && Object.keys(req).length) out.requests = req;
      if (lim && Object.keys(lim).length) out.limits = lim;
      return out;
    }
    const flat = this.stringMap(x, "resources");
    return flat && Object.keys(flat).length ? { requests: flat, limits: flat } : undefined;
  }

  retry(x: StepOptions["retry"]): Retry | undefined {
    if (x === undefined) return undefined;
    const opts: RetryOptions = typeof x === "number" ? { limit: x } : x;
    if (typeof opts !== "object" || opts === null || !Number.isInteger(opts.limit) || opts.limit < 0) {
      this.err(`retry limit must be a whole number of retries >= 0, got ${describe(typeof x === "object" ? x?.limit : x)}`);
      return undefined;
    }
    if (!opts.backoff) return { limit: opts.limit };
    const duration = parseDuration(opts.backoff.duration);
    if (duration === undefined) {
      this.err(`retry.backoff.duration must be seconds or a duration like "30s", got ${describe(opts.backoff.duration)}`);
      return { limit: opts.limit };
    }
    const backoff: { duration: number; factor?: number; maxDuration?: number } = { duration };
    if (opts.backoff.factor !== undefined) {
      if (typeof opts.backoff.factor !== "number" || !(opts.backoff.factor >= 1)) {
        this.err(`retry.backoff.factor must be a number >= 1, got ${describe(opts.backoff.factor)}`);
      } else backoff.factor = opts.backoff.factor;
    }
    if (opts.backoff.maxDuration !== undefined) {
      const m = parseDuration(opts.backoff.maxDuration);
      if (m === undefined) this.err(`retry.backoff.maxDuration must be a duration, got ${describe(opts.backoff.maxDuration)}`);
      else backoff.maxDuration = m;
    }
    return { limit: opts.limit, backoff };
  }

  timeout(x: unknown): number | undefined {
    if (x === undefined) return undefined;
    const t = parseDuration(x);
    if (t === undefined || t <= 0) {
      this.err(`timeout must be a positive number of seconds or a duration like "5m", got ${describe(x)}`);
      return undefined;
    }
    return t;
  }

  env(x: StepOptions["env"]): EnvVar[] | undefined {
    if (x === undefined) return undefined;
    if (typeof x !== "object" || x === null || Array.isArray(x)) {
      this.err(`env must be an object of name → value, got ${describe(x)}`);
      return undefined;
    }
    return Object.entries(x).map(([name, v]) => {
      if (!ENV_NAME_RE.test(name)) this.err(`env var name ${JSON.stringify(name)} is not a valid name`);
      return { name, value: this.value(v, `env.${name}`) };
    });
  }

  secrets(x: StepOptions["secret"]): SecretEnv[] | undefined {
    if (x === undefined) return undefined;
    const list = (Array.isArray(x) ? x : [x]) as SecretSource[];
    const out: SecretEnv[] = [];
    for (const s of list) {
      if (!s || s.kind !== "secret") {
        this.err(`secret must come from obtainSecret(keys, { name }), got ${describe(s)}`);
        continue;
      }
      for (const [envName, key] of Object.entries(s.keys)) {
        out.push(
          s.namespace !== undefined
            ? { name: envName, secret: s.name, key, namespace: s.namespace }
            : { name: envName, secret: s.name, key },
        );
      }
    }
    return out.length ? out : undefined;
  }

  outputs(x: StepOptions["output"]): OutputDecl[] | undefined {
    if (x === undefined) return undefined;
    const list = (Array.isArray(x) ? x : [x]) as ParameterOutput[];
    const out: OutputDecl[] = [];
    list.forEach((o, i) => {
      if (!o || o.kind !== "parameter") {
        this.err(`output must come from createParameterArtifact(path, { name }), got ${describe(o)}`);
        return;
      }
      out.push({ name: o.name ?? `output-${i + 1}`, path: o.path, loc: o.loc });
    });
    return out;
  }
}

function checkKeys(b: StepBuilder, opts: object, extra: readonly string[]): void {
  for (const k of Object.keys(opts)) {
    if (!KNOWN_STEP_KEYS.has(k) && !extra.includes(k)) {
      b.err(`unknown option "${k}"${suggest(k, [...KNOWN_STEP_KEYS, ...extra])}`);
    }
  }
}

function createStep(
  fnName: string,
  opts: StepOptions | ScriptOptions,
  kindSpecific: (b: StepBuilder) => { kind: Step["kind"]; base: string; extra: Partial<ScriptStep> },
): StepHandle {
  const scope = currentScope(fnName);
  const loc = scope.here();
  const b = new StepBuilder(scope, loc, fnName);
  if (typeof opts !== "object" || opts === null) {
    b.err(`expects an options object, got ${describe(opts)}`);
    opts = { image: "" } as StepOptions;
  }
  const { kind, base, extra } = kindSpecific(b);

  let name: string;
  if (opts.stepName !== undefined) {
    name = String(opts.stepName);
    if (scope.dagDepth > 0 && scope.byName.has(name)) {
      // inside dag(): calling the same step again refers to the one already created
      scope.lastTouched = name;
      return handleFor(scope, name);
    }
    if (scope.byName.has(name)) {
      scope.diagnostics.error(
        "duplicate-step",
        `duplicate step name "${name}": another step with this name was created at ${fmtLoc(scope.byName.get(name)!.step.loc)}`,
        loc,
      );
    } else if (!STEP_NAME_RE.test(name)) {
      scope.diagnostics.error(
        "invalid-name",
        `invalid step name ${JSON.stringify(name)}: use letters, digits, "-" and "_", starting with a letter or digit`,
        loc,
      );
    }
  } else {
    name = scope.autoName(base);
  }
  checkKeys(b, opts, kind === "script" ? ["source"] : []);
  if (typeof opts.image !== "string" || opts.image.trim() === "") b.err(`image must be a non-empty string, got ${describe(opts.image)}`);

  const step: Record<string, unknown> = { kind, name, loc, image: typeof opts.image === "string" ? opts.image : "" };
  const set = (k: string, v: unknown) => {
    if (v !== undefined) step[k] = v;
  };
  set("command", extra.command ?? b.values(opts.command, "command"));
  set("args", b.values(opts.args, "args"));
  if (extra.source !== undefined) step.source = extra.source;
  if (extra.language !== undefined) step.language = extra.language;
  set("env", b.env(opts.env));
  set("secretEnv", b.secrets(opts.secret));
  set("resources", b.resources(opts.resources));
  set("timeout", b.timeout(opts.timeout));
  set("retry", b.retry(opts.retry));
  if (opts.imagePullPolicy !== undefined) {
    if (!["Always", "IfNotPresent", "Never"].includes(opts.imagePullPolicy)) {
      b.err(`imagePullPolicy must be "Always", "IfNotPresent" or "Never", got ${describe(opts.imagePullPolicy)}`);
    } else step.imagePullPolicy = opts.imagePullPolicy;
  }
  if (opts.workingDir !== undefined) {
    if (typeof opts.workingDir !== "string") b.err(`workingDir must be a string, got ${describe(opts.workingDir)}`);
    else step.workingDir = opts.workingDir;
  }
  set("nodeSelector", b.stringMap(opts.nodeSelector, "nodeSelector"));
  set("outputs", b.outputs(opts.output));

  const draft: StepDraft = { step: step as unknown as StepDraft["step"], deps: [] };
  scope.addStep(draft);
  scope.lastTouched = name;
  if (opts.after !== undefined) {
    const list = (Array.isArray(opts.after) ? opts.after : [opts.after]) as (StepHandle | string)[];
    for (const a of list) draft.deps.push(on(typeof a === "string" ? a : a.name));
  }
  return handleFor(scope, name);
}

function handleFor(scope: WorkflowScope, name: string): StepHandle {
  const d = scope.byName.get(name);
  return new StepHandle(name, (d?.step.outputs ?? []).map((o) => o.name), scope);
}

export function fmtLoc(l: Loc): string {
  return `${l.file}:${l.line}:${l.col}`;
}

/**
 * Run a container.
 * ```ts
 * const hello = runContainer({ image: "alpine:3.20", command: ["echo", "hello"] });
 * runContainer({ image: "alpine:3.20", command: ["echo"], args: [hello.result] });
 * ```
 */
export function runContainer(opts: StepOptions): StepHandle {
  return createStep("runContainer", opts, () => ({
    kind: "container",
    base: nameFromImage(typeof opts?.image === "string" ? opts.image : ""),
    extra: {},
  }));
}

/**
 * Run a script with an interpreter. `source` is text, or a function whose body is the script.
 * ```ts
 * runScript({ image: "python:3.12-alpine", source: "print(42)" });
 * runScript({ image: "node:20-alpine", source: () => { console.log(42); } });
 * ```
 */
export function runScript(opts: ScriptOptions): StepHandle {
  return createStep("runScript", opts, (b) => {
    const src = opts?.source;
    let source = "";
    let language: ScriptStep["language"] = "other";
    let base = nameFromImage(typeof opts?.image === "string" ? opts.image : "");
    if (typeof src === "function") {
      try {
        source = functionBody(src);
      } catch (e) {
        b.err(`source: ${(e as Error).message}`);
      }
      language = "javascript";
      if (src.name && src.name !== "source") base = kebab(src.name) || base;
    } else if (typeof src === "string") {
      source = src;
    } else {
      b.err(`source must be a string or a function, got ${describe(src)}`);
    }
    const command =
      opts?.command !== undefined
        ? b.values(opts.command, "command")!
        : typeof src === "function"
          ? ["node"]
          : ["python"];
    if (typeof src === "string") language = languageOf(command);
    return { kind: "script", base, extra: { command, source, language } };
  });
}

function languageOf(command: readonly Value[]): ScriptStep["language"] {
  const first = command[0];
  if (typeof first !== "string") return "other";
  const exe = first.split("/").pop() ?? "";
  if (/^python(\d(\.\d+)?)?$/.test(exe)) return "python";
  if (exe === "node" || exe === "nodejs") return "javascript";
  if (["sh", "bash", "ash", "dash", "zsh"].includes(exe)) return "shell";
  return "other";
}

/**
 * Expose keys of an existing secret as env vars. `keys` is a list (env var = key) or an
 * object `{ ENV_VAR: "key" }`. No secret value ever appears in a manifest.
 * ```ts
 * runContainer({ image: "alpine", secret: obtainSecret(["PASSWORD"], { name: "db" }) });
 * ```
 */
export function obtainSecret(
  keys: readonly string[] | Readonly<Record<string, string>>,
  opts: { name: string; namespace?: string },
): SecretSource {
  const scope = currentScope("obtainSecret");
  const loc = scope.here();
  const map: Record<string, string> = {};
  if (Array.isArray(keys)) for (const k of keys) map[String(k)] = String(k);
  else if (keys && typeof keys === "object") Object.assign(map, keys);
  else scope.diagnostics.error("invalid-option", `obtainSecret(): keys must be a list or an object, got ${describe(keys)}`, loc);
  if (!opts || typeof opts.name !== "string" || opts.name === "") {
    scope.diagnostics.error("invalid-option", `obtainSecret(): { name } of the secret is required`, loc);
  }
  for (const envName of Object.keys(map)) {
    if (!ENV_NAME_RE.test(envName)) {
      scope.diagnostics.error("invalid-name", `obtainSecret(): ${JSON.stringify(envName)} is not a valid env var name`, loc);
    }
  }
  const s: SecretSource = {
    kind: "secret",
    name: opts?.name ?? "",
    keys: Object.freeze(map),
    loc,
    ...(opts?.namespace !== undefined ? { namespace: opts.namespace } : {}),
  };
  return Object.freeze(s);
}

/**
 * Declare an output parameter read from `path` after the step ran.
 * ```ts
 * const train = runScript({ ..., output: createParameterArtifact("/tmp/acc", { name: "accuracy" }) });
 * runContainer({ ..., args: [train.output("accuracy")] });
 * ```
 */
export function createParameterArtifact(path: string, opts: { name?: string } = {}): ParameterOutput {
  const scope = currentScope("createParameterArtifact");
  const loc = scope.here();
  if (typeof path !== "string" || !path.startsWith("/")) {
    scope.diagnostics.error("invalid-option", `createParameterArtifact(): path must be an absolute path, got ${describe(path)}`, loc);
  }
  if (opts.name !== undefined && !IDENT_RE.test(opts.name)) {
    scope.diagnostics.error(
      "invalid-name",
      `createParameterArtifact(): invalid output name ${JSON.stringify(opts.name)}: use letters, digits, "-" and "_", starting with a letter or "_"`,
      loc,
    );
  }
  return Object.freeze({ kind: "parameter", path: String(path), loc, ...(opts.name !== undefined ? { name: opts.name } : {}) });
}
