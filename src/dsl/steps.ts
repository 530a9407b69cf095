/** `runContainer`, `runScript` and the step handles they return. */
import { suggest } from "../diagnostics.js";
import type {
  Cache as IRCache,
  EnvVar,
  InputArtifact,
  KubeObject,
  Loc,
  OutputArtifact,
  OutputDecl,
  Resources,
  Retry,
  ResourceStep,
  ScriptStep,
  SecretEnv,
  Sidecar,
  Step,
  Toleration,
  Value,
  VolumeMount,
} from "../ir/types.js";
import type { ArtifactInput, ArtifactRef, ArtifactSpec } from "./artifacts.js";
import { type CacheSpec, jsonObject, tolerationsOf } from "./kube.js";
import { createRequire } from "node:module";
import { functionBody } from "./function-source.js";
import { currentScope, on, type StepDraft, type WorkflowScope } from "./scope.js";
import { describe, HANDLE_BRAND, handleNames, handleToken, type Input, toValue, ValueRef } from "./values.js";

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

/** A volume mount: `VolumeMount(volume, path)` or `{ volume, mountPath, subPath?, readOnly? }`. */
export type VolumeMountSpec = { volume: string | { name: string }; mountPath: string; subPath?: string; readOnly?: boolean };

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
  /** Runner label(s) for engines that pick machines by label (GitHub Actions `runs-on`). */
  runsOn?: string | readonly string[];
  /** Output parameters (createParameterArtifact) and output artifacts (createLocalArtifact, createS3Artifact...). */
  output?: ParameterOutput | ArtifactSpec | readonly (ParameterOutput | ArtifactSpec)[];
  /** Artifacts placed before the step starts: `producer.artifact("x")`, a location artifact, or `{ from, path }`. */
  input?: ArtifactInput | readonly ArtifactInput[];
  /** Steps this one runs after, in addition to where it was called. */
  after?: StepHandle | string | readonly (StepHandle | string)[];
  volumeMounts?: readonly VolumeMountSpec[];
  tolerations?: readonly Toleration[];
  affinity?: KubeObject;
  /** Container-level security context. */
  securityContext?: KubeObject;
  sidecars?: readonly { name: string; image: string; command?: string[]; args?: string[]; env?: Record<string, Input>; mirrorVolumeMounts?: boolean }[];
  /** Keep running in the background while later steps run (a server); stopped when the workflow ends. */
  daemon?: boolean;
  /** Reuse outputs of an earlier run with the same key (Cache({ name, key, maxAge })). */
  cache?: CacheSpec;
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
  readonly [HANDLE_BRAND] = true;
  // Made on first use: most handles are never read (a handle per step adds up).
  #result: ValueRef | undefined;
  #outputs: (readonly ValueRef[] & Readonly<Record<string, ValueRef>>) | undefined;

  constructor(
    readonly name: string,
    private readonly outputNames: readonly string[],
    private readonly scope: WorkflowScope,
  ) {}

  /** The step's standard output. */
  get result(): ValueRef {
    return (this.#result ??= new ValueRef({ kind: "result", step: this.name }));
  }

  /**
   * Declared outputs, by position (Couler's `outputs[0]`) and by name (`outputs.model`).
   * An unknown name still yields a reference, reported when the workflow is validated.
   */
  get outputs(): readonly ValueRef[] & Readonly<Record<string, ValueRef>> {
    if (this.#outputs) return this.#outputs;
    const name = this.name;
    const outputNames = this.outputNames;
    const list = outputNames.map((o) => new ValueRef({ kind: "output", step: name, output: o }));
    for (const [i, o] of outputNames.entries()) Object.defineProperty(list, o, { value: list[i], enumerable: false });
    return (this.#outputs = new Proxy(Object.freeze(list), {
      get(target, prop, receiver) {
        if (typeof prop === "string" && !(prop in target) && !/^\d+$/.test(prop)) {
          return new ValueRef({ kind: "output", step: name, output: prop });
        }
        return Reflect.get(target, prop, receiver);
      },
    }) as never);
  }

  /** The output named `name` (validated when the workflow is built). */
  output(name: string): ValueRef {
    return new ValueRef({ kind: "output", step: this.name, output: name });
  }

  /** Output artifact `name` of this step, to pass as `input` of a later step. */
  artifact(name: string): ArtifactRef {
    return Object.freeze({ kind: "artifactRef", step: this.name, artifact: name });
  }

  /** Make this step also wait for `steps` (handles or names) to finish successfully. */
  after(...steps: (StepHandle | string)[]): this {
    const draft = this.scope.byName.get(this.name);
    if (draft) for (const s of steps) draft.deps.push(on(typeof s === "string" ? handleNames(s) : s.name));
    return this;
  }

  /**
   * A handle is not a value: `${build}` in a template string would silently become the word
   * "build". It becomes a marked name instead, which a value refuses with a located error
   * and a name (dependency text, `after`) reads as the step's name.
   */
  toString(): string {
    return handleToken(this.name);
  }

  [Symbol.toPrimitive](): string {
    return handleToken(this.name);
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
  "runsOn",
  "output",
  "input",
  "after",
  "volumeMounts",
  "tolerations",
  "affinity",
  "securityContext",
  "sidecars",
  "daemon",
  "cache",
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
    // The label is only spelt out for a diagnostic: this runs for every command and argument.
    return list.map((v, i) => {
      const r = toValue(v);
      if (typeof r === "object" && "error" in r) {
        this.err(`${what}[${i}]: ${r.error}`);
        return "";
      }
      return r;
    });
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

  outputs(x: StepOptions["output"]): { params: OutputDecl[]; artifacts: OutputArtifact[] } | undefined {
    if (x === undefined) return undefined;
    const list = (Array.isArray(x) ? x : [x]) as (ParameterOutput | ArtifactSpec)[];
    const params: OutputDecl[] = [];
    const artifacts: OutputArtifact[] = [];
    list.forEach((o, i) => {
      if (o && o.kind === "parameter") {
        params.push({ name: o.name ?? `output-${i + 1}`, path: o.path, loc: o.loc });
      } else if (o && o.kind === "artifact") {
        if (o.location && (o.location.kind === "git" || o.location.kind === "http")) {
          this.err(`a ${o.location.kind} artifact can only be an input (it is fetched before the step starts)`);
          return;
        }
        const a: { name: string; path: string; loc: Loc; store?: OutputArtifact["store"] } = { name: o.name ?? `artifact-${i + 1}`, path: o.path, loc: o.loc };
        if (o.location) a.store = o.location;
        artifacts.push(a);
      } else {
        this.err(`output must come from createParameterArtifact(...) or an artifact function, got ${describe(o)}`);
      }
    });
    return { params, artifacts };
  }

  inputs(x: StepOptions["input"]): InputArtifact[] | undefined {
    if (x === undefined) return undefined;
    const list = (Array.isArray(x) ? x : [x]) as ArtifactInput[];
    const out: InputArtifact[] = [];
    list.forEach((entry, i) => {
      const placed = entry && typeof entry === "object" && "from" in entry ? entry : undefined;
      const src = (placed ? placed.from : entry) as ArtifactRef | ArtifactSpec | undefined;
      if (src && src.kind === "artifactRef") {
        const producer = this.scope.byName.get(src.step);
        const decl = producer && "outputArtifacts" in producer.step ? producer.step.outputArtifacts?.find((a) => a.name === src.artifact) : undefined;
        const path = placed?.path ?? decl?.path;
        if (path === undefined) {
          this.err(`input ${i + 1}: step "${src.step}" has no output artifact "${src.artifact}" to take the path from; give { from, path }`);
          return;
        }
        out.push({ name: placed?.name ?? src.artifact, path, loc: this.loc, from: { kind: "step", step: src.step, artifact: src.artifact } });
      } else if (src && src.kind === "artifact") {
        if (!src.location) {
          this.err(`input ${i + 1}: a local artifact has no location to fetch; pass the producing step's artifact: producer.artifact("name")`);
          return;
        }
        out.push({ name: placed?.name ?? src.name ?? `input-${i + 1}`, path: placed?.path ?? src.path, loc: src.loc, from: { kind: "location", location: src.location } });
      } else {
        this.err(`input must be producer.artifact(name), a location artifact (createS3Artifact, createGitArtifact...) or { from, path }, got ${describe(entry)}`);
      }
    });
    return out.length ? out : undefined;
  }

  volumeMounts(x: StepOptions["volumeMounts"]): VolumeMount[] | undefined {
    if (x === undefined) return undefined;
    if (!Array.isArray(x)) {
      this.err(`volumeMounts must be a list of VolumeMount(volume, path), got ${describe(x)}`);
      return undefined;
    }
    return x.map((m) => {
      const v = m as VolumeMountSpec;
      if (!v || typeof v.mountPath !== "string" || !v.mountPath.startsWith("/")) this.err(`a volume mount needs an absolute mountPath, got ${describe(v?.mountPath)}`);
      const volume = typeof v?.volume === "string" ? v.volume : (v?.volume as { name?: string } | undefined)?.name ?? "";
      return {
        volume,
        mountPath: String(v?.mountPath ?? ""),
        ...(v?.subPath !== undefined ? { subPath: v.subPath } : {}),
        ...(v?.readOnly !== undefined ? { readOnly: v.readOnly } : {}),
      };
    });
  }

  sidecars(x: StepOptions["sidecars"]): Sidecar[] | undefined {
    if (x === undefined) return undefined;
    if (!Array.isArray(x)) {
      this.err(`sidecars must be a list, got ${describe(x)}`);
      return undefined;
    }
    return x.map((c, i) => {
      if (!c || typeof c.name !== "string" || typeof c.image !== "string") this.err(`sidecar ${i + 1} needs a name and an image`);
      const out: { name: string; image: string; command?: string[]; args?: string[]; env?: EnvVar[]; mirrorVolumeMounts?: boolean } = {
        name: String(c?.name ?? ""),
        image: String(c?.image ?? ""),
      };
      if (c?.command) out.command = c.command.map(String);
      if (c?.args) out.args = c.args.map(String);
      const env = this.env(c?.env);
      if (env) out.env = env;
      if (c?.mirrorVolumeMounts !== undefined) out.mirrorVolumeMounts = Boolean(c.mirrorVolumeMounts);
      return out;
    });
  }

  cache(x: CacheSpec | undefined): IRCache | undefined {
    if (x === undefined) return undefined;
    if (!x || x.kind !== "cache") {
      this.err(`cache must come from Cache({ name, key, maxAge }), got ${describe(x)}`);
      return undefined;
    }
    if (typeof x.name !== "string" || !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(x.name)) {
      this.err(`cache name ${describe(x.name)} must be a Kubernetes object name (lower-case letters, digits, "-", ".")`);
    }
    const c: { name: string; key: Value; maxAge?: number } = { name: String(x.name), key: this.value(x.key, "cache key") };
    if (x.maxAge !== undefined) {
      const m = parseDuration(x.maxAge);
      if (m === undefined || m <= 0) this.err(`cache maxAge must be a positive duration, got ${describe(x.maxAge)}`);
      else c.maxAge = m;
    }
    return c;
  }
}

const KNOWN_CONTAINER_KEYS = [...KNOWN_STEP_KEYS];
const KNOWN_SCRIPT_KEYS = [...KNOWN_STEP_KEYS, "source"];

/** Resolve the step's name: the user's (checked), an existing one inside dag(), or an automatic one. */
function resolveName(scope: WorkflowScope, loc: Loc, stepName: unknown, base: () => string): { name: string; existing?: boolean } {
  if (stepName === undefined) return { name: scope.autoName(base()) };
  const name = handleNames(String(stepName));
  if (scope.dagDepth > 0 && scope.byName.has(name)) return { name, existing: true };
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
  return { name };
}

interface CommonOptions {
  stepName?: string;
  timeout?: Duration;
  retry?: number | RetryOptions;
  after?: StepHandle | string | readonly (StepHandle | string)[];
  cache?: CacheSpec;
}

/** Register a step built by `build(name)`, applying the options every kind of step takes. */
function registerStep(
  fnName: string,
  opts: CommonOptions & object,
  base: () => string,
  known: readonly string[],
  build: (b: StepBuilder, name: string) => Record<string, unknown>,
): StepHandle {
  const scope = currentScope(fnName);
  const loc = scope.here();
  const b = new StepBuilder(scope, loc, fnName);
  if (typeof opts !== "object" || opts === null) {
    b.err(`expects an options object, got ${describe(opts)}`);
    opts = {};
  }
  const { name, existing } = resolveName(scope, loc, opts.stepName, base);
  if (existing) {
    // inside dag(): calling the same step again refers to the one already created
    scope.lastTouched = name;
    return handleFor(scope, name);
  }
  for (const k of Object.keys(opts)) {
    if (!known.includes(k)) b.err(`unknown option "${k}"${suggest(k, known)}`);
  }
  const step: Record<string, unknown> = { name, loc, ...build(b, name) };
  const set = (k: string, v: unknown) => {
    if (v !== undefined) step[k] = v;
  };
  set("timeout", b.timeout(opts.timeout));
  set("retry", b.retry(opts.retry));
  set("cache", b.cache(opts.cache));
  const draft: StepDraft = { step: step as unknown as StepDraft["step"], deps: [] };
  scope.addStep(draft);
  scope.lastTouched = name;
  if (opts.after !== undefined) {
    const list = (Array.isArray(opts.after) ? opts.after : [opts.after]) as (StepHandle | string)[];
    for (const a of list) draft.deps.push(on(typeof a === "string" ? handleNames(a) : a.name));
  }
  return handleFor(scope, name);
}

function createStep(
  fnName: string,
  opts: StepOptions | ScriptOptions,
  kindSpecific: (b: StepBuilder) => { kind: Step["kind"]; base: string; extra: Partial<ScriptStep> },
): StepHandle {
  let spec: { kind: Step["kind"]; base: string; extra: Partial<ScriptStep> } | undefined;
  // The kind-specific part needs a builder for its diagnostics; run it inside build().
  const known = fnName === "runScript" ? KNOWN_SCRIPT_KEYS : KNOWN_CONTAINER_KEYS;
  const baseName = () => {
    const base = typeof opts?.image === "string" ? nameFromImage(handleNames(opts.image)) : "step";
    const src = (opts as ScriptOptions)?.source;
    if (fnName === "runScript" && typeof src === "function" && src.name && src.name !== "source") return kebab(src.name) || base;
    return base;
  };
  return registerStep(fnName, opts ?? {}, baseName, known, (b) => {
    spec = kindSpecific(b);
    const { kind, extra } = spec;
    if (typeof opts?.image !== "string" || opts.image.trim() === "") b.err(`image must be a non-empty string, got ${describe(opts?.image)}`);
    const step: Record<string, unknown> = { kind, image: typeof opts?.image === "string" ? opts.image : "" };
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
    set("runsOn", runnerLabels(b.scope, b.fn, opts.runsOn));
    const outs = b.outputs(opts.output);
    set("outputs", outs?.params.length ? outs.params : undefined);
    set("outputArtifacts", outs?.artifacts.length ? outs.artifacts : undefined);
    set("inputArtifacts", b.inputs(opts.input));
    set("volumeMounts", b.volumeMounts(opts.volumeMounts));
    set("tolerations", tolerationsOf(b.scope, b.fn, opts.tolerations));
    if (opts.affinity !== undefined) step.affinity = jsonObject(b.scope, b.fn, "affinity", opts.affinity);
    if (opts.securityContext !== undefined) step.securityContext = jsonObject(b.scope, b.fn, "securityContext", opts.securityContext);
    set("sidecars", b.sidecars(opts.sidecars));
    if (opts.daemon !== undefined) {
      if (typeof opts.daemon !== "boolean") b.err(`daemon must be true or false, got ${describe(opts.daemon)}`);
      else if (opts.daemon) step.daemon = true;
    }
    return step;
  });
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
    // A getter: the default name is worked out by createStep, and only without a stepName.
    get base() {
      return nameFromImage(typeof opts?.image === "string" ? opts.image : "");
    },
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

/** Options of `runJob`. */
export interface JobOptions {
  /** The Kubernetes object: a YAML string or a plain object. */
  manifest: string | Record<string, unknown>;
  /** What to do with it; default "create" (Couler ignored this option; we honour it). */
  action?: ResourceStep["action"];
  successCondition?: string;
  failureCondition?: string;
  setOwnerReference?: boolean;
  stepName?: string;
  timeout?: Duration;
  retry?: number | RetryOptions;
  after?: StepHandle | string | readonly (StepHandle | string)[];
}

/**
 * Act on a Kubernetes object (default: create it) and wait for its success or failure
 * condition. Outputs `name` and `uid` of the object.
 * ```ts
 * const job = runJob({ manifest: jobYaml, successCondition: "status.succeeded > 0", failureCondition: "status.failed > 3" });
 * runContainer({ image: "alpine", command: ["echo", job.outputs.name!] });
 * ```
 */
export function runJob(opts: JobOptions): StepHandle {
  const known = ["manifest", "action", "successCondition", "failureCondition", "setOwnerReference", "stepName", "timeout", "retry", "after"];
  let base = "job";
  const m = opts?.manifest;
  let text = "";
  if (typeof m === "string") text = m;
  else if (m && typeof m === "object") {
    // Loaded only for an object manifest: most workflows never need it.
    const { stringify } = createRequire(import.meta.url)("yaml") as typeof import("yaml");
    text = stringify(m, { version: "1.1", lineWidth: 0 });
  }
  const kindMatch = /^kind:\s*([A-Za-z]+)/m.exec(text);
  if (kindMatch) base = kebab(kindMatch[1]!);
  return registerStep("runJob", opts ?? {}, () => base, known, (b) => {
    if (text.trim() === "") b.err(`manifest must be a YAML string or an object, got ${describe(m)}`);
    else if (!/^kind:/m.test(text) || !/^apiVersion:/m.test(text)) b.err("manifest must have apiVersion and kind");
    const action = opts.action ?? "create";
    if (!["create", "apply", "delete", "get", "replace", "patch"].includes(action)) {
      b.err(`action must be one of create, apply, delete, get, replace, patch, got ${describe(action)}`);
    }
    const step: Record<string, unknown> = { kind: "resource", action, manifest: text };
    if (opts.successCondition !== undefined) step.successCondition = String(opts.successCondition);
    if (opts.failureCondition !== undefined) step.failureCondition = String(opts.failureCondition);
    if (opts.setOwnerReference !== undefined) step.setOwnerReference = Boolean(opts.setOwnerReference);
    if (action !== "delete") {
      step.outputs = [
        { name: "name", jsonPath: "{.metadata.name}", loc: b.loc },
        { name: "uid", jsonPath: "{.metadata.uid}", loc: b.loc },
      ];
    }
    return step;
  });
}

/**
 * Call a template of an installed, reusable workflow template (Argo `templateRef`).
 * ```ts
 * runTemplate({ templateRef: { name: "shared-steps", template: "notify" }, args: { channel: "#data" } });
 * ```
 */
export function runTemplate(opts: {
  templateRef: { name: string; template: string; clusterScope?: boolean };
  args?: Record<string, Input>;
  stepName?: string;
  timeout?: Duration;
  retry?: number | RetryOptions;
  after?: StepHandle | string | readonly (StepHandle | string)[];
}): StepHandle {
  const known = ["templateRef", "args", "stepName", "timeout", "retry", "after"];
  const ref = opts?.templateRef;
  return registerStep("runTemplate", opts ?? {}, () => kebab(ref?.template ?? "") || "template", known, (b) => {
    if (!ref || typeof ref.name !== "string" || typeof ref.template !== "string") {
      b.err(`templateRef must be { name, template, clusterScope? }, got ${describe(ref)}`);
    }
    const step: Record<string, unknown> = {
      kind: "templateRef",
      ref: { name: String(ref?.name ?? ""), template: String(ref?.template ?? ""), ...(ref?.clusterScope ? { clusterScope: true } : {}) },
    };
    if (opts.args !== undefined) {
      step.arguments = Object.entries(opts.args).map(([name, v]) => ({ name, value: b.value(v, `args.${name}`) }));
    }
    return step;
  });
}

/** `runsOn` as a list of labels, checked. */
export function runnerLabels(scope: WorkflowScope, fn: string, x: unknown): string[] | undefined {
  if (x === undefined) return undefined;
  const list = Array.isArray(x) ? x : [x];
  if (list.length === 0 || list.some((l) => typeof l !== "string" || l.trim() === "")) {
    scope.diagnostics.error("invalid-option", `${fn}(): runsOn must be a runner label or a non-empty list of labels, got ${describe(x)}`, scope.here());
    return undefined;
  }
  return list.map((l) => String(l).trim());
}
