/**
 * Artifacts: files or folders a step leaves behind or needs before it starts. Credentials
 * are only ever references to existing secrets (`{ name, key }`), never values.
 */
import type { ArtifactLocation, Loc, SecretKeyRef } from "../ir/types.js";
import { currentScope, type WorkflowScope } from "./scope.js";
import { describe } from "./values.js";

/** A key of an existing secret: `{ name: "s3-creds", key: "accessKey" }`. */
export interface SecretSelector {
  name: string;
  key: string;
}

/** An artifact declared by one of the `create…Artifact` functions. */
export interface ArtifactSpec {
  readonly kind: "artifact";
  readonly path: string;
  readonly name?: string;
  /** Where it is kept / fetched from; absent: the engine's default artifact store. */
  readonly location?: ArtifactLocation;
  readonly loc: Loc;
}

/** Another step's output artifact, as `input` of a later step: `producer.artifact("model")`. */
export interface ArtifactRef {
  readonly kind: "artifactRef";
  readonly step: string;
  readonly artifact: string;
}

/** `input` entries: an artifact, or one placed at another path. */
export type ArtifactInput = ArtifactRef | ArtifactSpec | { from: ArtifactRef | ArtifactSpec; path: string; name?: string };

function secretRef(scope: WorkflowScope, fn: string, what: string, s: SecretSelector | undefined, loc: Loc): SecretKeyRef | undefined {
  if (s === undefined) return undefined;
  if (!s || typeof s.name !== "string" || typeof s.key !== "string") {
    scope.diagnostics.error("invalid-option", `${fn}(): ${what} must be a secret reference { name, key }, got ${describe(s)}`, loc);
    return undefined;
  }
  return { secret: s.name, key: s.key };
}

function spec(scope: WorkflowScope, fn: string, loc: Loc, path: unknown, name: unknown, location?: ArtifactLocation): ArtifactSpec {
  if (typeof path !== "string" || !path.startsWith("/")) {
    scope.diagnostics.error("invalid-option", `${fn}(): path must be an absolute path, got ${describe(path)}`, loc);
  }
  if (name !== undefined && (typeof name !== "string" || !/^[A-Za-z_][A-Za-z0-9_-]*$/.test(name))) {
    scope.diagnostics.error("invalid-name", `${fn}(): invalid artifact name ${describe(name)}`, loc);
  }
  const out: { kind: "artifact"; path: string; loc: Loc; name?: string; location?: ArtifactLocation } = { kind: "artifact", path: String(path), loc };
  if (typeof name === "string") out.name = name;
  if (location) out.location = location;
  return Object.freeze(out);
}

function required(scope: WorkflowScope, fn: string, loc: Loc, o: Record<string, unknown>, keys: string[]): boolean {
  let ok = true;
  for (const k of keys) {
    if (typeof o[k] !== "string" || o[k] === "") {
      scope.diagnostics.error("invalid-option", `${fn}(): ${k} must be a non-empty string, got ${describe(o[k])}`, loc);
      ok = false;
    }
  }
  return ok;
}

function clean<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/**
 * A file or folder kept in the engine's default artifact store.
 * ```ts
 * const train = runContainer({ ..., output: createLocalArtifact("/out/model", { name: "model" }) });
 * runContainer({ ..., input: [train.artifact("model")] });
 * ```
 */
export function createLocalArtifact(path: string, opts: { name?: string } = {}): ArtifactSpec {
  const scope = currentScope("createLocalArtifact");
  return spec(scope, "createLocalArtifact", scope.here(), path, opts.name);
}

export interface S3Options {
  path: string;
  bucket: string;
  key: string;
  endpoint?: string;
  region?: string;
  insecure?: boolean;
  accessKeySecret?: SecretSelector;
  secretKeySecret?: SecretSelector;
  name?: string;
}

/** An artifact in S3 (or any S3-compatible store): as `output` it is uploaded there, as `input` fetched from there. */
export function createS3Artifact(o: S3Options): ArtifactSpec {
  const scope = currentScope("createS3Artifact");
  const loc = scope.here();
  required(scope, "createS3Artifact", loc, o as never, ["bucket", "key"]);
  const location: ArtifactLocation = clean({
    kind: "s3" as const,
    bucket: String(o.bucket),
    key: String(o.key),
    endpoint: o.endpoint,
    region: o.region,
    insecure: o.insecure,
    accessKey: secretRef(scope, "createS3Artifact", "accessKeySecret", o.accessKeySecret, loc),
    secretKey: secretRef(scope, "createS3Artifact", "secretKeySecret", o.secretKeySecret, loc),
  });
  return spec(scope, "createS3Artifact", loc, o.path, o.name, location);
}

/** An artifact in Google Cloud Storage. */
export function createGcsArtifact(o: { path: string; bucket: string; key: string; serviceAccountKeySecret?: SecretSelector; name?: string }): ArtifactSpec {
  const scope = currentScope("createGcsArtifact");
  const loc = scope.here();
  required(scope, "createGcsArtifact", loc, o as never, ["bucket", "key"]);
  const location: ArtifactLocation = clean({
    kind: "gcs" as const,
    bucket: String(o.bucket),
    key: String(o.key),
    serviceAccountKey: secretRef(scope, "createGcsArtifact", "serviceAccountKeySecret", o.serviceAccountKeySecret, loc),
  });
  return spec(scope, "createGcsArtifact", loc, o.path, o.name, location);
}

/** An artifact in Alibaba Cloud OSS. */
export function createOssArtifact(o: {
  path: string;
  bucket: string;
  key: string;
  endpoint: string;
  accessKeySecret?: SecretSelector;
  secretKeySecret?: SecretSelector;
  name?: string;
}): ArtifactSpec {
  const scope = currentScope("createOssArtifact");
  const loc = scope.here();
  required(scope, "createOssArtifact", loc, o as never, ["bucket", "key", "endpoint"]);
  const location: ArtifactLocation = clean({
    kind: "oss" as const,
    bucket: String(o.bucket),
    key: String(o.key),
    endpoint: String(o.endpoint),
    accessKey: secretRef(scope, "createOssArtifact", "accessKeySecret", o.accessKeySecret, loc),
    secretKey: secretRef(scope, "createOssArtifact", "secretKeySecret", o.secretKeySecret, loc),
  });
  return spec(scope, "createOssArtifact", loc, o.path, o.name, location);
}

/** A Git repository checked out at `path` before the step starts (input only). */
export function createGitArtifact(o: {
  path: string;
  repo: string;
  revision?: string;
  depth?: number;
  usernameSecret?: SecretSelector;
  passwordSecret?: SecretSelector;
  sshPrivateKeySecret?: SecretSelector;
  name?: string;
}): ArtifactSpec {
  const scope = currentScope("createGitArtifact");
  const loc = scope.here();
  required(scope, "createGitArtifact", loc, o as never, ["repo"]);
  if (o.depth !== undefined && (!Number.isInteger(o.depth) || o.depth < 1)) {
    scope.diagnostics.error("invalid-option", `createGitArtifact(): depth must be a whole number >= 1, got ${describe(o.depth)}`, loc);
  }
  const location: ArtifactLocation = clean({
    kind: "git" as const,
    repo: String(o.repo),
    revision: o.revision,
    depth: o.depth,
    username: secretRef(scope, "createGitArtifact", "usernameSecret", o.usernameSecret, loc),
    password: secretRef(scope, "createGitArtifact", "passwordSecret", o.passwordSecret, loc),
    sshPrivateKey: secretRef(scope, "createGitArtifact", "sshPrivateKeySecret", o.sshPrivateKeySecret, loc),
  });
  return spec(scope, "createGitArtifact", loc, o.path, o.name, location);
}

/** A file downloaded over HTTP(S) to `path` before the step starts (input only). */
export function createHttpArtifact(o: { path: string; url: string; name?: string }): ArtifactSpec {
  const scope = currentScope("createHttpArtifact");
  const loc = scope.here();
  if (required(scope, "createHttpArtifact", loc, o as never, ["url"]) && !/^https?:\/\//.test(o.url)) {
    scope.diagnostics.error("invalid-option", `createHttpArtifact(): url must start with http:// or https://, got ${JSON.stringify(o.url)}`, loc);
  }
  return spec(scope, "createHttpArtifact", loc, o.path, o.name, { kind: "http", url: String(o.url) });
}
