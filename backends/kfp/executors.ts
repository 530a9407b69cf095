/**
 * One executor per container or script step: the component (its inputs and outputs), the
 * container in `deploymentSpec.executors`, and the step's Kubernetes settings as the
 * kfp-kubernetes extension writes them (a `KubernetesExecutorConfig` in the platform spec).
 */
import type { ContainerStep, Loc, Ref, ScriptStep, Value, WorkflowConfig } from "../../src/ir/types.js";
import { kubeLiteral } from "../common/kube.js";
import { STDOUT_OUTPUT } from "./names.js";
import { containerText, outputFile, unsafeLiteral } from "./values.js";
import { wrapperScript } from "./wrapper.js";

type Json = Record<string, unknown>;
type PodStep = ContainerStep | ScriptStep;

export interface ExecutorParts {
  readonly container: Json;
  readonly outputs: Json;
  /** Output artifacts, by name (component outputDefinitions.artifacts). */
  readonly artifacts: Json;
  readonly platform: Json | undefined;
}

/** Resource names KFP's ResourceSpec has fields for; GPUs go into its accelerator. */
const ACCELERATORS = /^(nvidia\.com\/gpu|amd\.com\/gpu|cloud-tpus\.google\.com\/.+|google\.com\/tpu)$/;
const SH_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export interface ExecutorContext {
  /** The input key of a reference (registers it as an input of the executor). */
  readonly use: (r: Ref) => string;
  readonly stdoutRead: boolean;
  readonly config: WorkflowConfig;
  readonly error: (msg: string, loc: Loc) => void;
  /** Registers an input artifact taken from another step; returns its input name. */
  readonly useArtifact: (input: string, step: string, artifact: string) => string;
}

export const ARTIFACT_TYPE = { schemaTitle: "system.Artifact", schemaVersion: "0.0.1" };
const ARTIFACT_NAME = /^[A-Za-z_][A-Za-z0-9_-]*$/;

export function buildExecutor(s: PodStep, x: ExecutorContext): ExecutorParts {
  const problem = (what: string) => (msg: string) => x.error(`step "${s.name}" ${what}: ${msg}`, s.loc);
  const text = (v: Value, what: string) => containerText(v, x.use, true, problem(what));
  const container: Json = {};
  const imgWhy = unsafeLiteral(s.image);
  if (imgWhy) x.error(`step "${s.name}": the image name ${imgWhy}`, s.loc);
  container.image = s.image;

  const literalEnv: Json[] = [];
  const runtimeEnv: { name: string; value: Value }[] = [];
  for (const e of s.env ?? []) {
    if (typeof e.value === "string") literalEnv.push({ name: e.name, value: kubeLiteral(e.value, false) });
    else runtimeEnv.push({ name: e.name, value: e.value });
  }
  const outs = s.outputs ?? [];
  const artOut = (s.outputArtifacts ?? []).filter((a) => !a.store);
  const artIn = (s.inputArtifacts ?? []).flatMap((a) => (a.from.kind === "step" ? [{ name: a.name, path: a.path, step: a.from.step, artifact: a.from.artifact, loc: a.loc }] : []));
  for (const a of [...artOut, ...artIn]) if (!ARTIFACT_NAME.test(a.name)) x.error(`step "${s.name}": artifact name ${JSON.stringify(a.name)} cannot be written in a KFP placeholder`, a.loc);
  const needsWrapper = artOut.length > 0 || artIn.length > 0 || s.kind === "script" || s.workingDir !== undefined || runtimeEnv.length > 0 || x.stdoutRead || outs.length > 0;
  const command = (s.command ?? []).map((v) => text(v, "command"));
  const args = (s.args ?? []).map((v) => text(v, "args"));
  if (!needsWrapper) {
    if (command.length) container.command = command;
    if (args.length) container.args = args;
  } else {
    if (!command.length) x.error(`step "${s.name}" runs its image's entrypoint, but keeping its stdout or outputs on KFP needs the command spelled out (command: [...])`, s.loc);
    for (const e of runtimeEnv) if (!SH_NAME.test(e.name)) x.error(`step "${s.name}": env var ${JSON.stringify(e.name)} takes a run-time value, which on KFP is set by a shell, and is not a shell variable name`, s.loc);
    const script = wrapperScript({
      ...(s.kind === "script" ? { source: { interpreterWords: command.length } } : {}),
      env: runtimeEnv.map((e) => e.name),
      stdout: x.stdoutRead,
      outputs: outs.map((o) => o.path ?? ""),
      ...(s.workingDir !== undefined ? { workingDir: s.workingDir } : {}),
      artifactsOut: artOut.map((a) => a.path),
      artifactsIn: artIn.map((a) => a.path),
    });
    const pre: string[] = [];
    if (s.kind === "script") {
      const why = unsafeLiteral(s.source);
      if (why) x.error(`step "${s.name}": the script source ${why}`, s.loc);
      pre.push(kubeLiteral(s.source, false));
    }
    for (const e of runtimeEnv) pre.push(text(e.value, `env ${e.name}`));
    if (x.stdoutRead) pre.push(outputFile(STDOUT_OUTPUT));
    for (const o of outs) pre.push(outputFile(o.name));
    for (const a of artOut) pre.push(`{{$.outputs.artifacts['${a.name}'].path}}`);
    for (const a of artIn) pre.push(`{{$.inputs.artifacts['${x.useArtifact(a.name, a.step, a.artifact)}'].path}}`);
    container.command = ["sh", "-c", kubeLiteral(script, false), "couler"];
    container.args = [...pre, ...command, ...args];
  }
  if (literalEnv.length) container.env = literalEnv;
  const res = resources(s, x);
  if (res) container.resources = res;

  const outputs: Json = {};
  if (x.stdoutRead) outputs[STDOUT_OUTPUT] = { parameterType: "STRING" };
  for (const o of outs) {
    if (o.name === STDOUT_OUTPUT && x.stdoutRead) x.error(`step "${s.name}": output "${o.name}" has the name KFP uses here for the step's stdout; rename it`, o.loc);
    outputs[o.name] = { parameterType: "STRING" };
  }
  const artifacts: Json = {};
  for (const a of artOut) artifacts[a.name] = { artifactType: ARTIFACT_TYPE };
  return { container, outputs, artifacts, platform: platformConfig(s, x) };
}

function resources(s: PodStep, x: ExecutorContext): Json | undefined {
  const r = s.resources;
  if (!r) return undefined;
  const out: Json = {};
  const field: Record<string, Record<string, string>> = {
    requests: { cpu: "resourceCpuRequest", memory: "resourceMemoryRequest" },
    limits: { cpu: "resourceCpuLimit", memory: "resourceMemoryLimit" },
  };
  let accel: { type: string; count: string } | undefined;
  for (const kind of ["requests", "limits"] as const) {
    for (const [name, q] of Object.entries(r[kind] ?? {})) {
      const f = field[kind]![name];
      if (f) out[f] = q;
      else if (ACCELERATORS.test(name)) {
        if (accel && (accel.type !== name || accel.count !== q)) x.error(`step "${s.name}": KFP takes one accelerator type and count per step (${accel.type}: ${accel.count}, ${name}: ${q})`, s.loc);
        accel = { type: name, count: q };
      } else x.error(`step "${s.name}": KFP's resource spec has cpu, memory and accelerators only; ${kind} of ${JSON.stringify(name)} cannot be written`, s.loc);
    }
  }
  if (accel) out.accelerator = { resourceCount: accel.count, resourceType: accel.type };
  return out;
}

const SECURITY: Record<string, string> = { runAsUser: "runAsUser", runAsGroup: "runAsGroup", runAsNonRoot: "runAsNonRoot" };

function platformConfig(s: PodStep, x: ExecutorContext): Json | undefined {
  const c = x.config;
  const k: Json = {};
  const secrets = new Map<string, Json[]>();
  for (const e of s.secretEnv ?? []) {
    const list = secrets.get(e.secret) ?? [];
    list.push({ envVar: e.name, secretKey: e.key });
    secrets.set(e.secret, list);
  }
  if (secrets.size) {
    k.secretAsEnv = [...secrets].map(([name, keyToEnv]) => ({ keyToEnv, optional: false, secretName: name, secretNameParameter: { runtimeValue: { constant: name } } }));
  }
  const pvc: Json[] = [];
  const empty: Json[] = [];
  for (const m of s.volumeMounts ?? []) {
    const v = c.volumes?.find((x) => x.name === m.volume);
    if (!v) continue;
    if (m.readOnly) x.error(`step "${s.name}": kfp-kubernetes mounts volumes read-write only; the read-only mount of "${m.volume}" cannot be written`, s.loc);
    if (v.kind === "pvc") {
      if (v.readOnly) x.error(`step "${s.name}": kfp-kubernetes mounts claims read-write only; volume "${v.name}" is read-only`, s.loc);
      pvc.push({ constant: v.claimName, mountPath: m.mountPath, pvcNameParameter: { runtimeValue: { constant: v.claimName } }, ...(m.subPath !== undefined ? { subPath: m.subPath } : {}) });
    } else if (v.kind === "emptyDir") {
      if (m.subPath !== undefined) x.error(`step "${s.name}": kfp-kubernetes mounts an emptyDir whole; the subPath of "${m.volume}" cannot be written`, s.loc);
      empty.push({ mountPath: m.mountPath, volumeName: v.name, ...(v.medium ? { medium: v.medium } : {}), ...(v.sizeLimit ? { sizeLimit: v.sizeLimit } : {}) });
    } else {
      x.error(`step "${s.name}": volume "${v.name}" is a claim created per run; KFP creates one only with kfp-kubernetes CreatePVC/DeletePVC tasks, which this backend does not write: mount an existing claim (addVolume with claimName) instead`, s.loc);
    }
  }
  if (pvc.length) k.pvcMount = pvc;
  if (empty.length) k.emptyDirMounts = empty;
  const nodeSelector = { ...(c.nodeSelector ?? {}), ...(s.nodeSelector ?? {}) };
  if (Object.keys(nodeSelector).length) k.nodeSelector = { labels: nodeSelector };
  const tolerations = [...(c.tolerations ?? []), ...(s.tolerations ?? [])];
  if (tolerations.length) {
    k.tolerations = tolerations.map((t) => ({
      ...(t.effect !== undefined ? { effect: t.effect } : {}),
      ...(t.key !== undefined ? { key: t.key } : {}),
      ...(t.operator !== undefined ? { operator: t.operator } : {}),
      ...(t.tolerationSeconds !== undefined ? { tolerationSeconds: String(t.tolerationSeconds) } : {}),
      ...(t.value !== undefined ? { value: t.value } : {}),
    }));
  }
  const affinity = s.affinity ?? c.affinity;
  if (affinity) {
    const terms = nodeAffinityTerms(affinity, (msg) => x.error(`step "${s.name}": ${msg}`, s.loc));
    if (terms.length) k.nodeAffinity = terms;
  }
  if (c.imagePullSecrets?.length) k.imagePullSecret = c.imagePullSecrets.map((n) => ({ secretName: n, secretNameParameter: { runtimeValue: { constant: n } } }));
  if (s.imagePullPolicy) k.imagePullPolicy = s.imagePullPolicy;
  if (s.timeout !== undefined) k.activeDeadlineSeconds = String(Math.ceil(s.timeout));
  const sc = { ...(c.securityContext ?? {}), ...(s.securityContext ?? {}) };
  if (Object.keys(sc).length) {
    const out: Json = {};
    for (const [key, v] of Object.entries(sc)) {
      const f = SECURITY[key];
      if (!f) x.error(`step "${s.name}": kfp-kubernetes sets runAsUser, runAsGroup and runAsNonRoot only; security context field "${key}" cannot be written`, s.loc);
      else out[f] = typeof v === "number" ? String(v) : v;
    }
    k.securityContext = out;
  }
  return Object.keys(k).length ? k : undefined;
}

/**
 * A Kubernetes node affinity as kfp-kubernetes NodeAffinityTerms: each required node selector
 * term is a term without weight, each preferred one a term with its weight (the driver rebuilds
 * the pod's nodeAffinity from them: backend/src/v2/driver/k8s.go). Pod (anti-)affinity and
 * other keys have no such form and are refused.
 */
function nodeAffinityTerms(affinity: Json, error: (msg: string) => void): Json[] {
  const out: Json[] = [];
  for (const key of Object.keys(affinity)) if (key !== "nodeAffinity") error(`kfp-kubernetes writes node affinity only; affinity field "${key}" cannot be written`);
  const na = (affinity.nodeAffinity ?? {}) as Json;
  const term = (t: Json): Json => {
    for (const key of Object.keys(t)) if (key !== "matchExpressions" && key !== "matchFields") error(`node selector term field "${key}" cannot be written`);
    const req = (list: unknown) =>
      ((list ?? []) as Json[]).map((r) => ({ key: r.key, operator: r.operator, ...(Array.isArray(r.values) && r.values.length ? { values: r.values } : {}) }));
    return {
      ...(t.matchExpressions ? { matchExpressions: req(t.matchExpressions) } : {}),
      ...(t.matchFields ? { matchFields: req(t.matchFields) } : {}),
    };
  };
  for (const key of Object.keys(na)) {
    if (key !== "requiredDuringSchedulingIgnoredDuringExecution" && key !== "preferredDuringSchedulingIgnoredDuringExecution") error(`node affinity field "${key}" cannot be written`);
  }
  const required = na.requiredDuringSchedulingIgnoredDuringExecution as Json | undefined;
  for (const t of (required?.nodeSelectorTerms ?? []) as Json[]) out.push(term(t));
  for (const p of (na.preferredDuringSchedulingIgnoredDuringExecution ?? []) as Json[]) out.push({ ...term((p.preference ?? {}) as Json), weight: p.weight });
  return out;
}
