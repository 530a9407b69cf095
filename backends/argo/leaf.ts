/**
 * Leaf templates: the container, script or resource a step runs, with its inputs, outputs,
 * timeout, retries and memoization.
 *
 * Argo rules relied on (argoproj/argo-workflows):
 * - `workflow/controller/operator.go` executeScript: `mainCtr.Args = append(mainCtr.Args,
 *   common.ExecutorScriptSourcePath)`: the script file comes after `args`. The IR runs
 *   `command <script> args…` (src/run/README.md), so a script step with args starts through
 *   `sh`, which moves the file (its last argument) in front of the user's args; see scriptArgv.
 * - `workflow/controller/operator.go` processNodeRetries: `backoff.maxDuration` counts from
 *   the first attempt's start; no retry starts past it, and each retry runs with that
 *   deadline (`opts.executionDeadline`), which stops an attempt still running then.
 * - Input artifacts are mounted at their path (`workflow/controller/workflowpod.go`
 *   addInputArtifactsVolumes: a volume mount at `art.Path`; in init-less pods the emissary
 *   removes `art.Path` and links the artifact there), hiding what the image has there.
 */
import { isPodStep } from "../../src/ir/graph.js";
import type { ArtifactLocation, Loc, SecretKeyRef, Step, Value } from "../../src/ir/types.js";
import { kubeLiteral } from "../common/kube.js";

type Json = Record<string, unknown>;

/** What a leaf template needs from the compiler. */
export interface LeafContext {
  /** Template name of a step. */
  template(step: string): string;
  /** A value inside the leaf (`container`: Kubernetes-escaped, for command, args and env). */
  leafText(v: Value, inputs: ReadonlyMap<string, string>, container?: boolean): string;
  /** A literal that must not be read as a `{{…}}` tag. */
  text(s: string): string;
  /** Input parameters of the step's template: name and the reference key it stands for. */
  inputs(s: Step): readonly { readonly name: string; readonly key: string }[];
  err(message: string, loc: Loc): void;
  warn(message: string, loc: Loc): void;
}

/** Folders every image has and needs: an artifact mounted there hides the image's own files. */
const SYSTEM_FOLDERS = new Set(["/", "/bin", "/sbin", "/usr", "/usr/bin", "/usr/sbin", "/usr/local", "/usr/local/bin", "/lib", "/lib64", "/usr/lib", "/etc", "/dev", "/proc", "/sys", "/var", "/tmp", "/home", "/root", "/opt"]);

/**
 * The shell program that starts a script with args: Argo's argv is `sh -c PROG couler-script
 * <interpreter…> <args…> /argo/staging/script`; PROG takes the last argument (the script
 * file) and puts it right after the K interpreter words, then execs `<interpreter…> <script>
 * <args…>`, the argv `couler run` uses. Each `$` is written for Kubernetes (see kubeLiteral).
 */
export function scriptShell(k: number): string {
  const prog = `n=$#; eval "s=\\\${$n}"; i=0; for a do i=$((i+1)); if [ "$i" -lt "$n" ]; then set -- "$@" "$a"; fi; if [ "$i" -eq ${k} ]; then set -- "$@" "$s"; fi; done; shift "$n"; exec "$@"`;
  return kubeLiteral(prog, false);
}

function location(l: ArtifactLocation): [string, Json] {
  const sec = (r: SecretKeyRef | undefined) => (r ? { name: r.secret, key: r.key } : undefined);
  const clean = (o: Json) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
  switch (l.kind) {
    case "s3":
      return ["s3", clean({ bucket: l.bucket, key: l.key, endpoint: l.endpoint, region: l.region, insecure: l.insecure, accessKeySecret: sec(l.accessKey), secretKeySecret: sec(l.secretKey) })];
    case "gcs":
      return ["gcs", clean({ bucket: l.bucket, key: l.key, serviceAccountKeySecret: sec(l.serviceAccountKey) })];
    case "oss":
      return ["oss", clean({ bucket: l.bucket, key: l.key, endpoint: l.endpoint, accessKeySecret: sec(l.accessKey), secretKeySecret: sec(l.secretKey) })];
    case "git":
      return ["git", clean({ repo: l.repo, revision: l.revision, depth: l.depth, usernameSecret: sec(l.username), passwordSecret: sec(l.password), sshPrivateKeySecret: sec(l.sshPrivateKey) })];
    case "http":
      return ["http", { url: l.url }];
  }
}

/** The template of a container, script or resource step (while loops and template calls have none here). */
export function leafTemplate(s: Step, ctx: LeafContext): Json | undefined {
  if (s.kind === "templateRef" || s.kind === "while") return undefined;
  const inputs = ctx.inputs(s);
  const inputMap = new Map(inputs.map((i) => [i.key, i.name]));
  const t: Json = { name: ctx.template(s.name) };
  const inParams = inputs.map((i) => ({ name: i.name }));
  const inArtifacts: Json[] = [];
  if (isPodStep(s)) {
    for (const a of s.inputArtifacts ?? []) {
      const path = a.path.replace(/\/+$/, "") || "/";
      if (SYSTEM_FOLDERS.has(path)) {
        ctx.warn(`input artifact "${a.name}" is placed at ${a.path}: Argo mounts it there, which hides the image's own ${path} (commands the image has there are gone); place it in a folder of its own`, a.loc);
      }
      const art: Json = { name: a.name, path: a.path };
      if (a.from.kind === "location") {
        const [k, v] = location(a.from.location);
        art[k] = v;
      }
      inArtifacts.push(art);
    }
  }
  if (inParams.length || inArtifacts.length) {
    t.inputs = { ...(inParams.length ? { parameters: inParams } : {}), ...(inArtifacts.length ? { artifacts: inArtifacts } : {}) };
  }
  const outParams = (s.outputs ?? []).map((o) => ({
    name: o.name,
    valueFrom: o.jsonPath !== undefined ? { jsonPath: o.jsonPath } : { path: ctx.text(o.path ?? "") },
  }));
  const outArtifacts = isPodStep(s)
    ? (s.outputArtifacts ?? []).map((a) => {
        const art: Json = { name: a.name, path: ctx.text(a.path) };
        if (a.store) {
          const [k, v] = location(a.store);
          art[k] = v;
        }
        return art;
      })
    : [];
  if (outParams.length || outArtifacts.length) {
    t.outputs = { ...(outParams.length ? { parameters: outParams } : {}), ...(outArtifacts.length ? { artifacts: outArtifacts } : {}) };
  }
  commonFields(s, t, inputMap, ctx);
  if (s.kind === "resource") {
    const r: Json = { action: s.action, manifest: ctx.text(s.manifest) };
    if (s.successCondition !== undefined) r.successCondition = s.successCondition;
    if (s.failureCondition !== undefined) r.failureCondition = s.failureCondition;
    if (s.setOwnerReference !== undefined) r.setOwnerReference = s.setOwnerReference;
    t.resource = r;
    return t;
  }
  if (s.nodeSelector) t.nodeSelector = { ...s.nodeSelector };
  if (s.tolerations?.length) t.tolerations = s.tolerations.map((x) => ({ ...x }));
  if (s.affinity) t.affinity = s.affinity;
  if (s.daemon) t.daemon = true;
  const render = (v: Value) => ctx.leafText(v, inputMap, true);
  if (s.sidecars?.length) {
    t.sidecars = s.sidecars.map((sc) => {
      const out: Json = { name: sc.name, image: ctx.text(sc.image) };
      if (sc.command?.length) out.command = sc.command.map(render);
      if (sc.args?.length) out.args = sc.args.map(render);
      if (sc.env?.length) out.env = sc.env.map((e) => ({ name: e.name, value: render(e.value) }));
      if (sc.mirrorVolumeMounts) out.mirrorVolumeMounts = true;
      return out;
    });
  }
  const c: Json = { image: ctx.text(s.image) };
  if (s.kind === "script" && s.args?.length) {
    // The script file must come before the args (see scriptShell).
    c.command = ["sh", "-c", scriptShell(s.command.length), "couler-script"];
    c.args = [...s.command.map(render), ...s.args.map(render)];
  } else {
    if (s.command?.length) c.command = s.command.map(render);
    if (s.args?.length) c.args = s.args.map(render);
  }
  const env: Json[] = [];
  for (const e of s.env ?? []) env.push({ name: e.name, value: render(e.value) });
  for (const e of s.secretEnv ?? []) env.push({ name: e.name, valueFrom: { secretKeyRef: { name: e.secret, key: e.key } } });
  if (env.length) c.env = env;
  if (s.resources) {
    const r: Json = {};
    if (s.resources.requests) r.requests = { ...s.resources.requests };
    if (s.resources.limits) r.limits = { ...s.resources.limits };
    c.resources = r;
  }
  if (s.imagePullPolicy) c.imagePullPolicy = s.imagePullPolicy;
  if (s.workingDir !== undefined) c.workingDir = ctx.text(s.workingDir);
  if (s.volumeMounts?.length) {
    c.volumeMounts = s.volumeMounts.map((m) => ({
      name: m.volume,
      mountPath: m.mountPath,
      ...(m.subPath !== undefined ? { subPath: m.subPath } : {}),
      ...(m.readOnly !== undefined ? { readOnly: m.readOnly } : {}),
    }));
  }
  if (s.securityContext) c.securityContext = s.securityContext;
  if (s.kind === "script") {
    c.source = ctx.text(s.source);
    t.script = c;
  } else t.container = c;
  return t;
}

/** Fields every kind of template takes: timeout, retries, memoization. */
export function commonFields(s: Step, t: Json, inputMap: ReadonlyMap<string, string>, ctx: LeafContext): void {
  if (s.timeout !== undefined) t.activeDeadlineSeconds = Math.ceil(s.timeout);
  if (s.retry) {
    const rs: Json = { limit: s.retry.limit };
    const b = s.retry.backoff;
    if (b) {
      const backoff: Json = { duration: `${b.duration}s` };
      if (b.factor !== undefined) {
        if (!Number.isInteger(b.factor)) ctx.err(`retry backoff factor ${b.factor} must be a whole number`, s.loc);
        backoff.factor = b.factor;
      }
      if (b.maxDuration !== undefined) {
        backoff.maxDuration = `${b.maxDuration}s`;
        ctx.warn(
          `step "${s.name}": Argo also stops a retry attempt that is still running when the backoff maxDuration (${b.maxDuration}s since the first attempt) is over, where couler run lets it finish`,
          s.loc,
        );
      }
      rs.backoff = backoff;
    }
    t.retryStrategy = rs;
  }
  if (s.cache) {
    const m: Json = { key: ctx.leafText(s.cache.key, inputMap), cache: { configMap: { name: s.cache.name } } };
    m.maxAge = s.cache.maxAge !== undefined ? `${s.cache.maxAge}s` : "";
    t.memoize = m;
  }
}
