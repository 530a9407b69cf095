/**
 * What a field "really" holds on each target: every string leaf of the output, evaluated the
 * way the engine evaluates that field, with engine references shown as `⟨…⟩` markers:
 *
 * - Argo: `{{path}}` and `{{=expr}}` (string literals joined by `+`, argo-text.ts) in template
 *   fields; `metadata` is not templated and is taken as written.
 * - Tekton: `$(params.x)` is replaced by the value bound to x (the pipeline task's param, in
 *   turn a pipeline param's default), once: Tekton substitutes in one pass; its other variables
 *   (`context.`, `tasks.`, ...) become markers; any other `$(…)` is left alone.
 * - Kubernetes, after the engine, in container command/args/env: `$(VAR)` of the container's env
 *   and `$$` (see `kubeExpand`). `metadata` is taken as written.
 * - GitHub: `${{ … }}` evaluated when it is made of literals only (github-expr.ts); other
 *   expressions become markers.
 * - Airflow: string constants read by Python's `ast`, then rendered by Jinja rules
 *   (jinja-text.ts): `{{ '…' }}` gives its text, other expressions become markers, and any
 *   `{% %}`/`{# #}` block or text Jinja cannot read is a leak.
 */
import YAML from "yaml";
import type { OutputFile } from "../../backends/backend.js";
import { argoParts } from "./argo-text.js";
import { type GhValue, evalGh, ghParts } from "./github-expr.js";
import { jinjaEvaluate } from "./jinja-text.js";

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/**
 * Every string leaf of a parsed document, with its path. The command, args and env values of a
 * container (an object with an `image`) are marked `kube`: Kubernetes expands `$(VAR)` there
 * (VAR an env var of the container) and turns `$$` into `$`, after the engine's own templating.
 */
function leaves(x: unknown, path: string[] = [], out: Leaf[] = [], kube?: Map<string, unknown>): Leaf[] {
  if (typeof x === "string") out.push({ path, value: x, ...(kube ? { kube } : {}) });
  else if (Array.isArray(x)) x.forEach((y, i) => leaves(y, [...path, String(i)], out, kube));
  else if (x && typeof x === "object") {
    const o = x as Obj;
    const container = typeof o.image === "string" && !kube;
    const env = container ? new Map<string, unknown>((Array.isArray(o.env) ? o.env : []).map((e: Obj) => [e.name, e.value])) : undefined;
    for (const [k, v] of Object.entries(o)) leaves(v, [...path, k], out, container && (k === "command" || k === "args" || k === "env") ? env : kube);
  }
  return out;
}

interface Leaf {
  path: string[];
  value: string;
  /** The container's env (raw values), when Kubernetes expands this field. */
  kube?: Map<string, unknown>;
}

/**
 * Kubernetes' expansion of `$(VAR)` and `$$` in a container's command, args and env values.
 * `env` holds the container's env values already evaluated; unknown variables stay as written.
 */
export function kubeExpand(text: string, env: ReadonlyMap<string, string>): string {
  return text.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (m, name?: string) => (m === "$$" ? "$" : env.has(name!) ? env.get(name!)! : m));
}

function withKube(l: Leaf, evaluate: (s: string) => string): string {
  const v = evaluate(l.value);
  if (!l.kube) return v;
  const env = new Map<string, string>();
  for (const [k, raw] of l.kube) if (typeof raw === "string") env.set(k, kubeExpand(evaluate(raw), env));
  return kubeExpand(v, env);
}

/** Evaluated leaves of Argo output. Throws when a field is not valid Argo template text. */
export function argoValues(files: readonly OutputFile[]): string[] {
  const out: string[] = [];
  for (const f of files) {
    for (const doc of YAML.parseAllDocuments(f.content).map((d) => d.toJS())) {
      for (const l of leaves(doc)) {
        // metadata and the workflow's parameter values are data Argo does not template
        if (l.path[0] === "metadata" || l.path[0] === "kind" || l.path[0] === "apiVersion" || (l.path[1] === "arguments" && l.path[0] === "spec")) out.push(l.value);
        else out.push(withKube(l, (t) => argoParts(t).map((p) => ("lit" in p ? p.lit : `⟨${p.path}⟩`)).join("")));
      }
    }
  }
  return out;
}

/** Evaluated leaves of Tekton output. */
export function tektonValues(files: readonly OutputFile[]): string[] {
  const out: string[] = [];
  for (const f of files) {
    const docs = YAML.parseAllDocuments(f.content).map((d) => d.toJS() as Obj);
    const pipeline = docs.find((d) => d?.kind === "Pipeline");
    const pdefaults = new Map<string, string>((pipeline?.spec?.params ?? []).map((p: Obj) => [p.name, String(p.default ?? "")]));
    const subst = (text: string, bound: ReadonlyMap<string, string>): string =>
      text.replace(/\$\(([^()]*)\)/g, (m, v: string) => {
        const p = /^params\.([^.[\]]+)$/.exec(v);
        if (p && bound.has(p[1]!)) return bound.get(p[1]!)!;
        // Tekton replaces only its own variables; anything else stays for the shell or Kubernetes
        return /^(params|context|tasks|results|workspaces|steps|credentials)[.[]/.test(v) ? `⟨${v}⟩` : m;
      });
    for (const doc of docs) {
      if (doc === pipeline) {
        for (const t of [...(doc.spec.tasks ?? []), ...(doc.spec.finally ?? [])] as Obj[]) {
          // the pipeline task's param values: pipeline params substituted into them
          const bound = new Map<string, string>();
          for (const p of t.params ?? []) if (typeof p.value === "string") bound.set(p.name, subst(p.value, pdefaults));
          for (const l of leaves(t.taskSpec ?? {})) out.push(withKube(l, (x) => subst(x, bound)));
          for (const l of leaves(t.params ?? [])) out.push(subst(l.value, pdefaults));
        }
        for (const l of leaves(doc.metadata)) out.push(l.value);
        for (const l of leaves(doc.spec.params ?? [])) out.push(l.value);
      } else if (doc?.kind === "Task") {
        for (const l of leaves(doc.spec)) out.push(withKube(l, (x) => subst(x, new Map())));
      } else for (const l of leaves(doc)) out.push(l.value);
    }
  }
  return out;
}

/** Evaluated leaves of GitHub output (literal-only expressions evaluated). */
export function githubValues(files: readonly OutputFile[]): string[] {
  const out: string[] = [];
  const ctx = {
    prop: (path: readonly string[]): GhValue => {
      throw new Error(path.join("."));
    },
    status: () => true,
  };
  for (const f of files) {
    if (!/\.ya?ml$/.test(f.path)) continue;
    for (const l of leaves(YAML.parse(f.content))) {
      out.push(
        ghParts(l.value)
          .map((p) => {
            if ("lit" in p) return p.lit;
            try {
              const v = evalGh(p.expr, ctx);
              return typeof v === "string" ? v : JSON.stringify(v);
            } catch {
              return `⟨${p.text.trim()}⟩`;
            }
          })
          .join(""),
      );
    }
  }
  return out;
}

/**
 * Evaluated Airflow strings (read_airflow.py's `strings`): Jinja-rendered. A pod operator's
 * cmds, arguments and env values are also given as Kubernetes then sees them (`kube`).
 */
export function airflowValues(strings: readonly string[], kube: readonly ({ cmds: string[]; arguments: string[]; env: Record<string, string> } | null)[] = []): string[] {
  const jinja = (s: string) => {
    try {
      return jinjaEvaluate(s);
    } catch (e) {
      return `⟨JINJA ERROR ${(e as Error).message}⟩`;
    }
  };
  const out: string[] = [];
  const kubeStrings = new Set<string>();
  for (const k of kube) {
    if (!k) continue;
    const env = new Map<string, string>();
    for (const [name, v] of Object.entries(k.env)) {
      env.set(name, kubeExpand(jinja(v), env));
      kubeStrings.add(v);
    }
    for (const v of [...k.cmds, ...k.arguments]) kubeStrings.add(v);
    for (const v of [...k.cmds, ...k.arguments, ...Object.values(k.env)]) out.push(kubeExpand(jinja(v), env));
  }
  for (const s of strings) if (!kubeStrings.has(s)) out.push(jinja(s));
  return out;
}

/**
 * Evaluated leaves of KFP output: in an executor's container, input placeholders are replaced
 * the way the KFP driver does (one pass of `{{$.inputs.parameters['k']}}`, here bound to the
 * root parameter `pipelinechannel--<p>` stands for), any other `{{$…}}` becomes a marker, and
 * Kubernetes then expands command, args and env. Everything else is data, taken as written.
 */
export function kfpValues(files: readonly OutputFile[]): string[] {
  const out: string[] = [];
  for (const f of files) {
    const docs = YAML.parseAllDocuments(f.content).map((d) => d.toJS() as Obj);
    const spec = docs[0] ?? {};
    const defaults = new Map<string, string>();
    for (const [k, p] of Object.entries<Obj>(spec.root?.inputDefinitions?.parameters ?? {})) if (typeof p.defaultValue === "string") defaults.set(`pipelinechannel--${k}`, p.defaultValue);
    const evaluate = (s: string) =>
      s
        .replace(/\{\{\$\.inputs\.parameters\['(.+?)']}}/g, (m, k: string) => defaults.get(k) ?? `⟨${m.slice(2, -2)}⟩`)
        .replace(/\{\{\$[^}]*\}\}/g, (m) => `⟨${m.slice(2, -2)}⟩`);
    for (const l of leaves(spec.deploymentSpec ?? {})) out.push(withKube(l, evaluate));
    for (const [k, v] of Object.entries(spec)) if (k !== "deploymentSpec") for (const l of leaves(v)) out.push(l.value);
    for (const d of docs.slice(1)) for (const l of leaves(d)) out.push(l.value);
  }
  return out;
}
