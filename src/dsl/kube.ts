/**
 * Kubernetes settings: volumes, pull secrets, DNS, security context, and memoization.
 * Engines without Kubernetes pods refuse these with a diagnostic.
 */
import type { Json, KubeObject, Toleration, VolumeMount as IRVolumeMount, WorkflowVolume } from "../ir/types.js";
import { parseDuration } from "./steps.js";
import { currentScope, type WorkflowScope } from "./scope.js";
import { describe, type Input } from "./values.js";

/** A workflow volume, by name. */
export interface Volume {
  readonly kind: "volume";
  readonly name: string;
}

function addWorkflowVolume(scope: WorkflowScope, fn: string, v: WorkflowVolume): Volume {
  const loc = scope.here();
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(v.name) || v.name.length > 63) {
    scope.diagnostics.error("invalid-name", `${fn}(): volume name ${JSON.stringify(v.name)} must be a DNS-1123 label (lower-case letters, digits, "-")`, loc);
  }
  const list = [...(scope.config.volumes ?? [])];
  if (list.some((x) => x.name === v.name)) {
    scope.diagnostics.error("duplicate-volume", `${fn}(): a volume named "${v.name}" already exists`, loc);
  } else list.push(v);
  scope.config.volumes = list;
  return Object.freeze({ kind: "volume", name: v.name });
}

/**
 * Mount an existing PersistentVolumeClaim into steps that ask for it.
 * ```ts
 * const data = addVolume("data", { claimName: "shared-data" });
 * runContainer({ ..., volumeMounts: [VolumeMount(data, "/data")] });
 * ```
 */
export function addVolume(name: string, opts: { claimName: string; readOnly?: boolean }): Volume {
  const scope = currentScope("addVolume");
  if (!opts || typeof opts.claimName !== "string" || opts.claimName === "") {
    scope.diagnostics.error("invalid-option", `addVolume(): { claimName } of an existing claim is required`, scope.here());
  }
  return addWorkflowVolume(scope, "addVolume", {
    name: String(name),
    kind: "pvc",
    claimName: String(opts?.claimName ?? ""),
    ...(opts?.readOnly !== undefined ? { readOnly: Boolean(opts.readOnly) } : {}),
  });
}

/** A claim created for this workflow run and deleted with it (Argo `volumeClaimTemplates`). */
export function createWorkflowVolume(name: string, opts: { size: string; accessModes?: string[]; storageClass?: string }): Volume {
  const scope = currentScope("createWorkflowVolume");
  if (!opts || typeof opts.size !== "string" || !/^\d+(\.\d+)?([KMGTPE]i?)?$/.test(opts.size)) {
    scope.diagnostics.error("invalid-option", `createWorkflowVolume(): size must be a quantity such as "10Gi", got ${describe(opts?.size)}`, scope.here());
  }
  return addWorkflowVolume(scope, "createWorkflowVolume", {
    name: String(name),
    kind: "claim",
    size: String(opts?.size ?? ""),
    accessModes: opts?.accessModes ?? ["ReadWriteOnce"],
    ...(opts?.storageClass !== undefined ? { storageClass: opts.storageClass } : {}),
  });
}

/** Scratch space that lives as long as a step's pod (`emptyDir`), optionally in memory. */
export function emptyDirVolume(name: string, opts: { medium?: "Memory"; sizeLimit?: string } = {}): Volume {
  const scope = currentScope("emptyDirVolume");
  return addWorkflowVolume(scope, "emptyDirVolume", {
    name: String(name),
    kind: "emptyDir",
    ...(opts.medium !== undefined ? { medium: opts.medium } : {}),
    ...(opts.sizeLimit !== undefined ? { sizeLimit: opts.sizeLimit } : {}),
  });
}

/** Where a step sees a workflow volume (Couler's `VolumeMount`). */
export function VolumeMount(volume: Volume | string, mountPath: string, opts: { subPath?: string; readOnly?: boolean } = {}): IRVolumeMount {
  const name = typeof volume === "string" ? volume : volume.name;
  return Object.freeze({
    volume: name,
    mountPath,
    ...(opts.subPath !== undefined ? { subPath: opts.subPath } : {}),
    ...(opts.readOnly !== undefined ? { readOnly: opts.readOnly } : {}),
  });
}

/** Pull images with this existing docker-registry secret. */
export function addImagePullSecret(name: string): void {
  const scope = currentScope("addImagePullSecret");
  if (typeof name !== "string" || name === "") {
    scope.diagnostics.error("invalid-option", `addImagePullSecret(): expects a secret name, got ${describe(name)}`, scope.here());
    return;
  }
  const list = new Set(scope.config.imagePullSecrets ?? []);
  list.add(name);
  scope.config.imagePullSecrets = [...list];
}

/** DNS policy and configuration of every step's pod. */
export function setDns(opts: { policy?: "ClusterFirst" | "ClusterFirstWithHostNet" | "Default" | "None"; config?: KubeObject }): void {
  const scope = currentScope("setDns");
  const loc = scope.here();
  if (opts.policy !== undefined) {
    if (!["ClusterFirst", "ClusterFirstWithHostNet", "Default", "None"].includes(opts.policy)) {
      scope.diagnostics.error("invalid-option", `setDns(): unknown policy ${describe(opts.policy)}`, loc);
    } else scope.config.dnsPolicy = opts.policy;
  }
  if (opts.config !== undefined) scope.config.dnsConfig = jsonObject(scope, "setDns", "config", opts.config);
}

/** Pod-level security context of every step (e.g. `{ runAsNonRoot: true, runAsUser: 1000 }`). */
export function setSecurityContext(ctx: KubeObject): void {
  const scope = currentScope("setSecurityContext");
  scope.config.securityContext = jsonObject(scope, "setSecurityContext", "the security context", ctx);
}

/** A plain JSON object (no functions, undefined or refs), copied. */
export function jsonObject(scope: WorkflowScope, fn: string, what: string, x: unknown): KubeObject {
  const bad = (p: string, v: unknown) => scope.diagnostics.error("invalid-option", `${fn}(): ${what}${p} must be plain JSON, got ${describe(v)}`, scope.here());
  const copy = (v: unknown, p: string): Json => {
    if (v === null || typeof v === "string" || typeof v === "boolean") return v;
    if (typeof v === "number" && Number.isFinite(v)) return v;
    if (Array.isArray(v)) return v.map((x, i) => copy(x, `${p}[${i}]`));
    if (typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype) {
      return Object.fromEntries(Object.entries(v as object).map(([k, x]) => [k, copy(x, `${p}.${k}`)]));
    }
    bad(p, v);
    return null;
  };
  if (typeof x !== "object" || x === null || Array.isArray(x)) {
    bad("", x);
    return {};
  }
  return copy(x, "") as KubeObject;
}

/** Check tolerations' shape. */
export function tolerationsOf(scope: WorkflowScope, fn: string, x: unknown): Toleration[] | undefined {
  if (x === undefined) return undefined;
  if (!Array.isArray(x)) {
    scope.diagnostics.error("invalid-option", `${fn}(): tolerations must be a list, got ${describe(x)}`, scope.here());
    return undefined;
  }
  const keys = new Set(["key", "operator", "value", "effect", "tolerationSeconds"]);
  return x.map((t) => {
    const o = jsonObject(scope, fn, "a toleration", t) as Record<string, Json>;
    for (const k of Object.keys(o)) if (!keys.has(k)) scope.diagnostics.error("invalid-option", `${fn}(): unknown toleration field "${k}"`, scope.here());
    return o as unknown as Toleration;
  });
}

/** Memoization settings for `runContainer({ cache })` (Argo `memoize`). */
export interface CacheSpec {
  readonly kind: "cache";
  readonly name: string;
  readonly key: Input;
  readonly maxAge?: number | string;
}

/**
 * Reuse a previous run's outputs when `key` was seen within `maxAge` (Couler's `Cache`).
 * ```ts
 * runContainer({ ..., cache: Cache({ name: "train-cache", key: `train-${day}`, maxAge: "1h" }) });
 * ```
 */
export function Cache(opts: { name: string; key: Input; maxAge?: number | string }): CacheSpec {
  return Object.freeze({ kind: "cache", name: opts.name, key: opts.key, ...(opts.maxAge !== undefined ? { maxAge: opts.maxAge } : {}) });
}

export { parseDuration };
