/**
 * Round trip of `couler import`: Argo YAML → couler program → `compile --target argo` → the
 * same workflow. "The same" is read with the project's neutral-graph reader (steps, order,
 * start rules, reads, conditions, fan-out, loops, params) plus, per step, what runs: image,
 * command, args, env, script source and resource manifest, as the program in the pod sees them
 * (Argo substitutions resolved to their source, Kubernetes' `$$` undone).
 */
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { argoBackend } from "../../backends/argo/argo-backend.js";
import { compileWorkflow } from "../../src/compile.js";
import { importArgo } from "../../src/import/import-argo.js";
import type { WorkflowIR } from "../../src/ir/types.js";
import { loadWorkflowFile } from "../../src/loader/load.js";
import { readArgo } from "../readback/argo-reader.js";
import { argoParts } from "../readback/argo-text.js";
import { compareGraphs, NameResolver, irStepNames } from "../readback/neutral-graph.js";
import YAML from "yaml";

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface RoundTrip {
  /** Problems, one line each; empty when the round trip holds. */
  readonly problems: string[];
  /** Import diagnostics (warnings mean something was left out). */
  readonly diagnostics: string[];
  /** Absolute paths of the generated programs. */
  readonly generated: string[];
}

let counter = 0;

/** Import `text`, write the programs to `dir`, load and compile them, and compare each with its document. */
export async function roundTrip(name: string, text: string, dir: string = mkdtempSync(join(tmpdir(), "couler-import-"))): Promise<RoundTrip> {
  const r = importArgo([{ file: name, text }]);
  const diagnostics = r.diagnostics.map((d) => `${d.loc?.file}:${d.loc?.line}:${d.loc?.col}: ${d.severity}: ${d.message}`);
  const problems: string[] = [];
  if (r.failed) return { problems: ["import failed"], diagnostics, generated: [] };
  const sub = join(dir, `rt-${counter++}`);
  mkdirSync(sub, { recursive: true });
  const originals = YAML.parseAllDocuments(text).map((d) => d.toJS() as Obj).filter((d) => d && typeof d === "object");
  for (const [i, f] of r.files.entries()) {
    const path = join(sub, f.path);
    writeFileSync(path, f.content);
    const loaded = await loadWorkflowFile(path);
    if (loaded.diagnostics.length || loaded.workflows.length !== 1) {
      problems.push(`${f.path}: load: ${loaded.diagnostics.map((d) => d.message).join("; ") || `${loaded.workflows.length} workflows`}`);
      continue;
    }
    const wf = loaded.workflows[0]!.workflow;
    const out = compileWorkflow(wf, argoBackend, { "emit-secrets": "false" });
    const errors = out.diagnostics.filter((d) => d.severity === "error");
    if (errors.length || !out.files.length) {
      problems.push(`${f.path}: compile: ${errors.map((d) => `${d.loc?.line}:${d.loc?.col} ${d.message}`).join("; ")}`);
      continue;
    }
    const original = originals[i]!;
    const again = YAML.parse(out.files[0]!.content) as Obj;
    problems.push(...compareDocs(original, again, wf.ir).map((p) => `${f.path}: ${p}`));
  }
  return { problems, diagnostics, generated: r.files.map((f) => join(sub, f.path)) };
}

/** Differences between two Argo documents of the same workflow (IR: for step names). */
export function compareDocs(a: Obj, b: Obj, ir: WorkflowIR): string[] {
  const out: string[] = [];
  if (a.kind !== b.kind) out.push(`kind ${a.kind} became ${b.kind}`);
  const file = (d: Obj) => [{ path: "x.yaml", content: YAML.stringify(normalizeParams(d)) }];
  let ga, gb;
  try {
    ga = readArgo(file(a), ir);
    gb = readArgo(file(b), ir);
  } catch (e) {
    return [...out, `read back: ${(e as Error).message}`];
  }
  out.push(...compareGraphs(ir, ga, gb, { conditionReads: true }));
  const names = new NameResolver(irStepNames(ir));
  const la = leaves(normalizeParams(a), names);
  const lb = leaves(b, names);
  for (const n of new Set([...la.keys(), ...lb.keys()])) {
    const x = JSON.stringify(la.get(n));
    const y = JSON.stringify(lb.get(n));
    if (x !== y) out.push(`step ${n}: runs ${x}\n    but after the round trip ${y}`);
  }
  return out;
}

/**
 * Param values as strings (YAML `value: 5` and `value: "5"` are the same argument), and the
 * entry template's `inputs.parameters.x` as what Argo binds it to, `workflow.parameters.x`.
 */
function normalizeParams(doc: Obj): Obj {
  const d = structuredClone(doc);
  const spec = d.kind === "CronWorkflow" ? d.spec.workflowSpec : d.spec;
  for (const p of spec.arguments?.parameters ?? []) if (p.value !== undefined) p.value = String(p.value);
  // the reader knows no withSequence: a literal sequence is the list of its numbers
  for (const t of spec.templates as Obj[]) {
    for (const c of t.steps ? (t.steps as Obj[][]).flat() : (t.dag?.tasks ?? [])) {
      const q = c.withSequence;
      if (!q || q.format !== undefined) continue;
      const from = Number(q.start ?? 0);
      const to = q.count !== undefined ? from + Number(q.count) - 1 : Number(q.end ?? 0);
      c.withItems = Array.from({ length: Math.abs(to - from) + 1 }, (_, i) => String(from <= to ? from + i : from - i));
      delete c.withSequence;
    }
  }
  const names = new Set(((spec.arguments?.parameters ?? []) as Obj[]).map((p) => p.name));
  const entry = (spec.templates as Obj[]).findIndex((t) => t.name === spec.entrypoint);
  if (entry >= 0 && names.size) {
    const text = JSON.stringify(spec.templates[entry]).replace(/\{\{\s*inputs\.parameters\.([A-Za-z0-9_-]+)\s*\}\}/g, (m, n: string) => (names.has(n) ? `{{workflow.parameters.${n}}}` : m));
    spec.templates[entry] = JSON.parse(text);
  }
  return d;
}

/** Per step: what its pod runs, with every reference resolved to where it comes from. */
function leaves(doc: Obj, names: NameResolver): Map<string, unknown> {
  const spec = doc.kind === "CronWorkflow" ? doc.spec.workflowSpec : doc.spec;
  const templates = new Map<string, Obj>((spec.templates as Obj[]).map((t) => [t.name, t]));
  const out = new Map<string, unknown>();
  const isGraph = (t: Obj | undefined) => !!t && (t.steps || t.dag);
  const calls = (t: Obj): Obj[] => (t.steps ? (t.steps as Obj[][]).flat() : (t.dag?.tasks ?? []));
  const visit = (t: Obj, args: ReadonlyMap<string, string>, itemKeys: string[] | undefined) => {
    for (const c of calls(t)) {
      if (c.template === t.name) continue;
      const keys = Array.isArray(c.withItems) && c.withItems[0] && typeof c.withItems[0] === "object" ? Object.keys(c.withItems[0]) : itemKeys;
      const resolve = (s: unknown, own = args, k = keys): string => norm(String(s ?? ""), own, k);
      const callArgs = new Map<string, string>(((c.arguments?.parameters ?? []) as Obj[]).map((p) => [p.name, resolve(p.value)]));
      const callee = c.template !== undefined ? templates.get(c.template) : undefined;
      // the backend's status task (a DAG's last task deciding its phase) runs nothing
      if (callee && /^couler-status(-\d+)?$/.test(String(c.template)) && String(callee.suspend?.duration) === "0") continue;
      if (isGraph(callee)) {
        visit(callee!, callArgs, keys);
        continue;
      }
      const name = names.tryResolve(c.name) ?? c.name;
      if (!callee) {
        out.set(name, { templateRef: c.templateRef, args: [...callArgs].sort() });
        continue;
      }
      for (const p of callee.inputs?.parameters ?? []) if (!callArgs.has(p.name) && p.value !== undefined) callArgs.set(p.name, resolve(p.value));
      const box = callee.container ?? callee.script;
      const r = (s: unknown, kube = false) => {
        const v = norm(String(s ?? ""), callArgs, keys);
        return kube ? v.replace(/\$\$/g, "$") : v;
      };
      out.set(name, {
        image: box?.image,
        command: (box?.command ?? []).map((x: unknown) => r(x, true)),
        args: (box?.args ?? []).map((x: unknown) => r(x, true)),
        env: ((box?.env ?? []) as Obj[]).map((e) => [e.name, e.value !== undefined ? r(e.value, true) : e.valueFrom]).sort(),
        source: box?.source !== undefined ? r(box.source) : undefined,
        manifest: callee.resource ? r(callee.resource.manifest) : undefined,
        action: callee.resource?.action,
        resources: box?.resources,
      });
    }
  };
  visit(templates.get(spec.entrypoint)!, new Map(), undefined);
  if (spec.onExit) visit(templates.get(spec.onExit)!, new Map(), undefined);
  return out;
}

/** Argo text with references resolved: inputs to their caller's text, `steps.`/`tasks.` alike, item keys by position. */
/** The backend's fan-in list tag (backends/argo/fan-in.ts) as the aggregate path it lists. */
const FAN_IN_TAG = /\{\{=\('\[' \+ join\(map\(fromJSON\(([A-Za-z]+)(?:\.([A-Za-z0-9_-]+)|\['([^']+)'\])\.outputs\.parameters(?:\.([A-Za-z0-9_-]+)|\['([^']+)'\])\), \{trimPrefix\(#, 'j'\)\}\), ','\) \+ '\]'\)\}\}/g;

function norm(text: string, args: ReadonlyMap<string, string>, itemKeys: string[] | undefined): string {
  text = text.replace(FAN_IN_TAG, (_m, mode: string, s1?: string, s2?: string, o1?: string, o2?: string) => {
    const out = (o1 ?? o2)!;
    const what = out === "couler-result" ? "result" : out.startsWith("couler-out-") ? `parameters.${out.slice("couler-out-".length)}` : `parameters.${out}`;
    return `{{${mode}.${s1 ?? s2}.outputs.${what}}}`;
  });
  return argoParts(text)
    .map((p) => {
      if ("lit" in p) return p.lit;
      const seg = p.path.split(".");
      if (seg[0] === "inputs" && seg[1] === "parameters") return args.get(seg.slice(2).join(".")) ?? `⟨${p.path}⟩`;
      if (seg[0] === "steps" || seg[0] === "tasks") return `⟨node.${seg.slice(1).join(".")}⟩`;
      if (seg[0] === "item" && seg.length === 2) {
        const i = itemKeys?.indexOf(seg[1]!) ?? -1;
        return `⟨item[${i >= 0 ? i : seg[1]!.replace(/^v/, "")}]⟩`;
      }
      return `⟨${p.path}⟩`;
    })
    .join("");
}
