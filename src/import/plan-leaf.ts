/**
 * A leaf template (container, script or resource) as one `runContainer` / `runScript` /
 * `runJob` call: its options object, with every field the DSL has no option for left as a
 * `// couler import:` note.
 */
import { scriptShell } from "../../backends/argo/leaf.js";
import { leftovers, type Obj, type PlanContext } from "./plan-context.js";
import { valueCode, type ValueScope } from "./plan-values.js";
import { arr, call, jsonCode, obj, raw, str, type Code } from "./plan.js";
import type { Path } from "./yaml-source.js";

export interface LeafSite {
  /** The step name (a literal, or the helper's `stepName` parameter). */
  readonly stepName: Code;
  readonly scope: ValueScope;
  /** Input artifact name → what the caller passes (`build.artifact("binary")`). */
  readonly artifacts: ReadonlyMap<string, Code>;
}

export interface LeafCall {
  readonly code: Code;
  readonly notes: string[];
}

const TEMPLATE_KEYS = [
  "name", "inputs", "outputs", "container", "script", "resource", "activeDeadlineSeconds", "retryStrategy", "memoize",
  "nodeSelector", "tolerations", "affinity", "daemon", "sidecars",
];
const CONTAINER_KEYS = ["image", "command", "args", "env", "resources", "imagePullPolicy", "workingDir", "volumeMounts", "securityContext", "name"];

export function isLeaf(t: Obj): boolean {
  return t.container !== undefined || t.script !== undefined || t.resource !== undefined;
}

export function leafCall(ctx: PlanContext, t: Obj, tPath: Path, site: LeafSite): LeafCall {
  const notes: string[] = [];
  const tname = String(t.name);
  const drop = (key: string, why: string, at: Path = [...tPath, key], value: unknown = t[key]) => notes.push(...ctx.drop(at, `template "${tname}": ${key}`, value, why));
  const props: [string, Code | undefined][] = [["stepName", site.stepName]];
  const v = (x: unknown, at: Path, container = false) => valueCode(ctx, x, site.scope, at, container);
  let fn: string;
  if (t.resource !== undefined) {
    fn = "runJob";
    const r = t.resource as Obj;
    props.push(["manifest", fixed(ctx, v(r.manifest, [...tPath, "resource", "manifest"]), r.manifest, [...tPath, "resource", "manifest"], `template "${tname}": resource.manifest`, notes)]);
    if (r.action !== undefined && r.action !== "create") props.push(["action", str(String(r.action))]);
    for (const k of ["successCondition", "failureCondition"]) if (r[k] !== undefined) props.push([k, str(String(r[k]))]);
    if (r.setOwnerReference !== undefined) props.push(["setOwnerReference", { k: "bool", v: Boolean(r.setOwnerReference) }]);
    for (const k of leftovers(r, ["action", "manifest", "successCondition", "failureCondition", "setOwnerReference"])) {
      drop(`resource.${k}`, "runJob has no such option", [...tPath, "resource", k], r[k]);
    }
    const outs = (t.outputs?.parameters ?? []) as Obj[];
    const standard = (o: Obj) => (o.name === "name" && o.valueFrom?.jsonPath === "{.metadata.name}") || (o.name === "uid" && o.valueFrom?.jsonPath === "{.metadata.uid}");
    const odd = outs.filter((o) => !standard(o));
    if (odd.length) drop("outputs.parameters", "runJob outputs only the object's name and uid", [...tPath, "outputs", "parameters"], odd);
    for (const k of leftovers(t.outputs, ["parameters"])) drop(`outputs.${k}`, "runJob has no such output", [...tPath, "outputs", k], t.outputs[k]);
  } else {
    const script = t.script !== undefined;
    fn = script ? "runScript" : "runContainer";
    const key = script ? "script" : "container";
    const c = t[key] as Obj;
    const cPath = [...tPath, key];
    const image = v(c.image, [...cPath, "image"]);
    if (image.k !== "str") {
      notes.push(...ctx.drop([...cPath, "image"], `template "${tname}": image`, c.image, "an image chosen at run time has no DSL form; the text is kept as written"));
    }
    props.push(["image", image.k === "str" ? image : str(String(c.image))]);
    if (script) props.push(["source", fixed(ctx, v(c.source ?? "", [...cPath, "source"]), c.source ?? "", [...cPath, "source"], `template "${tname}": script.source`, notes)]);
    const list = (x: unknown, k: string, from = 0) => (Array.isArray(x) ? arr(x.map((y, i) => v(y, [...cPath, k, i + from], true)).slice(from)) : undefined);
    // A script with args starts through `sh`, which puts the script file before the args: the
    // interpreter is the first K args (backends/argo/leaf.ts scriptShell).
    const k = script ? shellStarted(c.command, c.args) : undefined;
    if (k !== undefined) {
      const interp = (c.args as unknown[]).slice(0, k);
      const pythonDefault = interp.length === 1 && interp[0] === "python";
      if (!pythonDefault) props.push(["command", arr((c.args as unknown[]).slice(0, k).map((y, i) => v(y, [...cPath, "args", i], true)))]);
      if ((c.args as unknown[]).length > k) props.push(["args", list(c.args, "args", k)]);
    } else {
      // runScript's default interpreter is python
      const pythonDefault = script && Array.isArray(c.command) && c.command.length === 1 && c.command[0] === "python";
      if ((c.command !== undefined || script) && !pythonDefault) props.push(["command", list(c.command ?? [], "command")]);
      if (c.args !== undefined) props.push(["args", list(c.args, "args")]);
    }
    const env: [string, Code][] = [];
    const secrets = new Map<string, [string, string][]>();
    ((c.env ?? []) as Obj[]).forEach((e, i) => {
      const ref = e.valueFrom?.secretKeyRef;
      if (e.value !== undefined || e.valueFrom === undefined) env.push([String(e.name), v(e.value ?? "", [...cPath, "env", i, "value"], true)]);
      else if (ref && Object.keys(e.valueFrom).length === 1) secrets.set(String(ref.name), [...(secrets.get(String(ref.name)) ?? []), [String(e.name), String(ref.key)]]);
      else drop(`env ${e.name}`, "only literal values and secret keys have a DSL form", [...cPath, "env", i], e);
    });
    if (env.length) props.push(["env", obj(env)]);
    if (secrets.size) {
      const calls = [...secrets].map(([name, keys]) => {
        const same = keys.every(([e, k]) => e === k);
        const k = same ? arr(keys.map(([e]) => str(e))) : obj(keys.map(([e, key]) => [e, str(key)] as const));
        return call(ctx.use("obtainSecret"), k, obj([["name", str(name)]]));
      });
      props.push(["secret", calls.length === 1 ? calls[0] : arr(calls)]);
    }
    if (c.resources !== undefined) {
      const r = c.resources as Obj;
      props.push(["resources", obj(["requests", "limits"].map((k) => [k, r[k] ? obj(Object.entries(r[k] as Obj).map(([a, b]) => [a, str(String(b))] as const)) : undefined] as const))]);
      for (const k of leftovers(r, ["requests", "limits"])) drop(`resources.${k}`, "only requests and limits have a DSL form", [...cPath, "resources", k], r[k]);
    }
    if (c.imagePullPolicy !== undefined) props.push(["imagePullPolicy", str(String(c.imagePullPolicy))]);
    if (c.workingDir !== undefined) props.push(["workingDir", v(c.workingDir, [...cPath, "workingDir"])]);
    if (c.volumeMounts !== undefined) props.push(["volumeMounts", arr((c.volumeMounts as Obj[]).map((m) => volumeMount(ctx, m)))]);
    if (c.securityContext !== undefined) props.push(["securityContext", jsonCode(c.securityContext)]);
    for (const k of leftovers(c, [...CONTAINER_KEYS, ...(script ? ["source"] : [])])) {
      drop(`${key}.${k}`, `${fn} has no such option`, [...cPath, k], c[k]);
    }
    if (t.nodeSelector !== undefined) props.push(["nodeSelector", jsonCode(t.nodeSelector)]);
    if (t.tolerations !== undefined) props.push(["tolerations", jsonCode(t.tolerations)]);
    if (t.affinity !== undefined) props.push(["affinity", jsonCode(t.affinity)]);
    if (t.daemon === true) props.push(["daemon", { k: "bool", v: true }]);
    if (t.sidecars !== undefined) {
      props.push(["sidecars", arr((t.sidecars as Obj[]).map((s, i) => sidecar(ctx, s, [...tPath, "sidecars", i], site.scope, notes, tname)))]);
    }
    const outputs = outputsCode(ctx, t, tPath, notes, tname);
    if (outputs.length) props.push(["output", outputs.length === 1 ? outputs[0] : arr(outputs)]);
    const inputs = inputArtifacts(ctx, t, tPath, site, notes, tname);
    if (inputs.length) props.push(["input", inputs.length === 1 ? inputs[0] : arr(inputs)]);
  }
  if (t.activeDeadlineSeconds !== undefined) {
    const n = Number(t.activeDeadlineSeconds);
    if (Number.isFinite(n) && n > 0) props.push(["timeout", { k: "num", v: n }]);
    else drop("activeDeadlineSeconds", "only a number of seconds has a DSL form");
  }
  if (t.retryStrategy !== undefined) props.push(["retry", retryCode(ctx, t.retryStrategy, [...tPath, "retryStrategy"], notes, tname)]);
  if (t.memoize !== undefined) {
    const m = t.memoize as Obj;
    const maxAge = m.maxAge !== undefined && m.maxAge !== "" ? str(String(m.maxAge)) : undefined;
    props.push(["cache", call(ctx.use("Cache"), obj([["name", str(String(m.cache?.configMap?.name ?? ""))], ["key", v(m.key, [...tPath, "memoize", "key"])], ["maxAge", maxAge]]))]);
    for (const k of leftovers(m, ["key", "maxAge", "cache"])) drop(`memoize.${k}`, "Cache() has no such option", [...tPath, "memoize", k], m[k]);
  }
  const kindKeys = t.resource !== undefined ? ["name", "inputs", "outputs", "resource", "activeDeadlineSeconds", "retryStrategy", "memoize"] : TEMPLATE_KEYS;
  for (const k of leftovers(t, kindKeys)) drop(k, `${fn} has no such option`);
  return { code: call(ctx.use(fn), obj(props)), notes };
}

/** Text the DSL takes only as a literal (a script, a manifest): a reference in it is reported and kept as written. */
function fixed(ctx: PlanContext, code: Code, text: unknown, at: Path, what: string, notes: string[]): Code {
  if (code.k === "str") return code;
  notes.push(...ctx.drop(at, what, text, "values filled in at run time have no DSL form here; the text is kept as written"));
  return str(String(text));
}

function volumeMount(ctx: PlanContext, m: Obj): Code {
  const opts = obj([
    ["subPath", m.subPath !== undefined ? str(String(m.subPath)) : undefined],
    ["readOnly", m.readOnly !== undefined ? { k: "bool", v: Boolean(m.readOnly) } : undefined],
  ]);
  const vol = ctx.volumes.get(String(m.name));
  const args: Code[] = [vol !== undefined ? raw(vol) : str(String(m.name)), str(String(m.mountPath))];
  if (opts.k === "obj" && opts.props.length) args.push(opts);
  return call(ctx.use("VolumeMount"), ...args);
}

function sidecar(ctx: PlanContext, s: Obj, at: Path, scope: ValueScope, notes: string[], tname: string): Code {
  const env = ((s.env ?? []) as Obj[]).filter((e) => e.value !== undefined);
  for (const k of leftovers(s, ["name", "image", "command", "args", "env", "mirrorVolumeMounts"])) {
    notes.push(...ctx.drop([...at, k], `template "${tname}": sidecar ${s.name}: ${k}`, s[k], "a sidecar has no such option"));
  }
  if (env.length !== (s.env ?? []).length) notes.push(...ctx.drop([...at, "env"], `template "${tname}": sidecar ${s.name}: env`, s.env, "only literal env values have a DSL form"));
  const strs = (x: unknown) => (Array.isArray(x) ? arr(x.map((y) => str(String(y)))) : undefined);
  return obj([
    ["name", str(String(s.name))],
    ["image", str(String(s.image))],
    ["command", strs(s.command)],
    ["args", strs(s.args)],
    ["env", env.length ? obj(env.map((e, i) => [String(e.name), valueCode(ctx, e.value, scope, [...at, "env", i], true)] as const)) : undefined],
    ["mirrorVolumeMounts", s.mirrorVolumeMounts !== undefined ? { k: "bool", v: Boolean(s.mirrorVolumeMounts) } : undefined],
  ]);
}

function retryCode(ctx: PlanContext, r: Obj, at: Path, notes: string[], tname: string): Code {
  for (const k of leftovers(r, ["limit", "backoff"])) notes.push(...ctx.drop([...at, k], `template "${tname}": retryStrategy.${k}`, r[k], "retry has no such option"));
  const limit: Code = { k: "num", v: Number(r.limit ?? 0) };
  if (!r.backoff) return limit;
  const b = r.backoff as Obj;
  for (const k of leftovers(b, ["duration", "factor", "maxDuration"])) notes.push(...ctx.drop([...at, "backoff", k], `template "${tname}": retryStrategy.backoff.${k}`, b[k], "retry backoff has no such option"));
  return obj([
    ["limit", limit],
    [
      "backoff",
      obj([
        ["duration", str(String(b.duration ?? "0"))],
        ["factor", b.factor !== undefined ? { k: "num", v: Number(b.factor) } : undefined],
        ["maxDuration", b.maxDuration !== undefined ? str(String(b.maxDuration)) : undefined],
      ]),
    ],
  ]);
}

const STORES = ["s3", "gcs", "oss", "git", "http"];

/** `createS3Artifact({...})` and friends for an artifact with a location. */
function locationCode(ctx: PlanContext, a: Obj, kind: string): Code {
  const l = a[kind] as Obj;
  const sec = (x: Obj | undefined) => (x ? obj([["name", str(String(x.name))], ["key", str(String(x.key))]]) : undefined);
  const s = (x: unknown) => (x !== undefined ? str(String(x)) : undefined);
  const base: [string, Code | undefined][] = [["path", str(String(a.path))]];
  const named: [string, Code | undefined] = ["name", s(a.name)];
  switch (kind) {
    case "s3":
      return call(ctx.use("createS3Artifact"), obj([...base, ["bucket", s(l.bucket)], ["key", s(l.key)], ["endpoint", s(l.endpoint)], ["region", s(l.region)],
        ["insecure", l.insecure !== undefined ? { k: "bool", v: Boolean(l.insecure) } : undefined], ["accessKeySecret", sec(l.accessKeySecret)], ["secretKeySecret", sec(l.secretKeySecret)], named]));
    case "gcs":
      return call(ctx.use("createGcsArtifact"), obj([...base, ["bucket", s(l.bucket)], ["key", s(l.key)], ["serviceAccountKeySecret", sec(l.serviceAccountKeySecret)], named]));
    case "oss":
      return call(ctx.use("createOssArtifact"), obj([...base, ["bucket", s(l.bucket)], ["key", s(l.key)], ["endpoint", s(l.endpoint)], ["accessKeySecret", sec(l.accessKeySecret)], ["secretKeySecret", sec(l.secretKeySecret)], named]));
    case "git":
      return call(ctx.use("createGitArtifact"), obj([...base, ["repo", s(l.repo)], ["revision", s(l.revision)], ["depth", l.depth !== undefined ? { k: "num", v: Number(l.depth) } : undefined],
        ["usernameSecret", sec(l.usernameSecret)], ["passwordSecret", sec(l.passwordSecret)], ["sshPrivateKeySecret", sec(l.sshPrivateKeySecret)], named]));
    default:
      return call(ctx.use("createHttpArtifact"), obj([...base, ["url", s(l.url)], named]));
  }
}

const LOCATION_KEYS: Record<string, string[]> = {
  s3: ["bucket", "key", "endpoint", "region", "insecure", "accessKeySecret", "secretKeySecret"],
  gcs: ["bucket", "key", "serviceAccountKeySecret"],
  oss: ["bucket", "key", "endpoint", "accessKeySecret", "secretKeySecret"],
  git: ["repo", "revision", "depth", "usernameSecret", "passwordSecret", "sshPrivateKeySecret"],
  http: ["url"],
};

function artifactNotes(ctx: PlanContext, a: Obj, at: Path, notes: string[], what: string): string | undefined {
  const kind = STORES.find((k) => a[k] !== undefined);
  for (const k of leftovers(a, ["name", "path", ...(kind ? [kind] : [])])) notes.push(...ctx.drop([...at, k], `${what} ${a.name}: ${k}`, a[k], "artifacts have no such option"));
  if (kind) for (const k of leftovers(a[kind], LOCATION_KEYS[kind]!)) notes.push(...ctx.drop([...at, kind, k], `${what} ${a.name}: ${kind}.${k}`, a[kind][k], "the artifact location has no such option"));
  return kind;
}

function outputsCode(ctx: PlanContext, t: Obj, tPath: Path, notes: string[], tname: string): Code[] {
  const out: Code[] = [];
  const o = (t.outputs ?? {}) as Obj;
  ((o.parameters ?? []) as Obj[]).forEach((p, i) => {
    const at = [...tPath, "outputs", "parameters", i];
    if (p.valueFrom?.path !== undefined && leftovers(p, ["name", "valueFrom"]).length === 0 && leftovers(p.valueFrom, ["path"]).length === 0) {
      out.push(call(ctx.use("createParameterArtifact"), str(String(p.valueFrom.path)), obj([["name", str(String(p.name))]])));
    } else notes.push(...ctx.drop(at, `template "${tname}": output parameter ${p.name}`, p, "only an output read from a file (valueFrom.path) has a DSL form"));
  });
  ((o.artifacts ?? []) as Obj[]).forEach((a, i) => {
    const at = [...tPath, "outputs", "artifacts", i];
    const kind = artifactNotes(ctx, a, at, notes, `template "${tname}": output artifact`);
    if (kind === "git" || kind === "http") notes.push(...ctx.drop(at, `template "${tname}": output artifact ${a.name}`, a, `a ${kind} artifact can only be an input`));
    else if (kind && ["s3", "gcs", "oss"].includes(kind) && a[kind].bucket === undefined) {
      notes.push(...ctx.drop([...at, kind], `template "${tname}": output artifact ${a.name}`, a[kind], "a key in the default artifact repository has no DSL form; the artifact goes to the default store"));
      out.push(call(ctx.use("createLocalArtifact"), str(String(a.path)), obj([["name", str(String(a.name))]])));
    } else out.push(kind ? locationCode(ctx, a, kind) : call(ctx.use("createLocalArtifact"), str(String(a.path)), obj([["name", str(String(a.name))]])));
  });
  for (const k of leftovers(o, ["parameters", "artifacts"])) notes.push(...ctx.drop([...tPath, "outputs", k], `template "${tname}": outputs.${k}`, o[k], "no DSL form"));
  return out;
}

function inputArtifacts(ctx: PlanContext, t: Obj, tPath: Path, site: LeafSite, notes: string[], tname: string): Code[] {
  const out: Code[] = [];
  ((t.inputs?.artifacts ?? []) as Obj[]).forEach((a, i) => {
    const at = [...tPath, "inputs", "artifacts", i];
    const kind = artifactNotes(ctx, a, at, notes, `template "${tname}": input artifact`);
    if (kind && ["s3", "gcs", "oss"].includes(kind) && a[kind].bucket === undefined && !site.artifacts.has(String(a.name))) {
      notes.push(...ctx.drop(at, `template "${tname}": input artifact ${a.name}`, a, "a key in the default artifact repository has no DSL form"));
      return;
    }
    if (kind && !(["s3", "gcs", "oss"].includes(kind) && a[kind].bucket === undefined)) {
      out.push(locationCode(ctx, a, kind));
      return;
    }
    const from = site.artifacts.get(String(a.name));
    if (!from) {
      notes.push(...ctx.drop(at, `template "${tname}": input artifact ${a.name}`, a, "no caller passes it from another step"));
      return;
    }
    out.push(obj([["from", from], ["path", str(String(a.path))], ["name", str(String(a.name))]]));
  });
  for (const k of leftovers(t.inputs, ["parameters", "artifacts"])) notes.push(...ctx.drop([...tPath, "inputs", k], `template "${tname}": inputs.${k}`, t.inputs[k], "no DSL form"));
  return out;
}

/** The number of interpreter words when a script starts through the backend's `sh` program, else undefined. */
function shellStarted(command: unknown, args: unknown): number | undefined {
  if (!Array.isArray(command) || command.length !== 4 || command[0] !== "sh" || command[1] !== "-c" || command[3] !== "couler-script") return undefined;
  if (!Array.isArray(args)) return undefined;
  for (let k = 1; k < args.length; k++) if (command[2] === scriptShell(k)) return k;
  return undefined;
}
