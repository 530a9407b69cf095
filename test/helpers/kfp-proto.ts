/**
 * Decode KFP documents through the pipeline spec's own protobuf definitions (read at run time
 * from the shared schemas folder, never copied into this repository: see
 * ../shared/schemas/README.md, KFP section). protobufjs's fromObject ignores unknown keys, so
 * `strictCheck` walks the JSON against the reflected message types itself: an unknown or
 * misspelt key, a wrong scalar type, two members of one oneof, an unknown enum name are errors.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import protobuf from "protobufjs";
import { repoPath } from "./paths.js";

/** The folder holding pipeline_spec.proto, or undefined (tests skip, saying so). */
export function kfpProtoDir(): string | undefined {
  const env = process.env.COULER_SCHEMAS_DIR;
  const candidates = [...(env ? [join(env, "kfp"), env] : []), repoPath("..", "shared", "schemas", "kfp")];
  return candidates.find((d) => existsSync(join(d, "pipeline_spec.proto")) && existsSync(join(d, "kubernetes_executor_config.proto")));
}

let cached: protobuf.Root | undefined;

export function kfpRoot(dir: string): protobuf.Root {
  if (cached) return cached;
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => (target.startsWith("google/protobuf/") ? target : join(dir, target));
  root.loadSync(["pipeline_spec.proto", "kubernetes_executor_config.proto"], { keepCase: false });
  root.resolveAll();
  cached = root;
  return root;
}

const INT = /^(int32|uint32|sint32|fixed32|sfixed32)$/;
const LONG = /^(int64|uint64|sint64|fixed64|sfixed64)$/;

function checkScalar(type: string, v: unknown, path: string, out: string[]): void {
  const bad = () => out.push(`${path}: ${JSON.stringify(v)} is not a ${type}`);
  if (type === "string") {
    if (typeof v !== "string") bad();
  } else if (type === "bool") {
    if (typeof v !== "boolean") bad();
  } else if (type === "double" || type === "float") {
    if (typeof v !== "number" && !["NaN", "Infinity", "-Infinity"].includes(v as string)) bad();
  } else if (INT.test(type)) {
    if (typeof v !== "number" || !Number.isInteger(v)) bad();
  } else if (LONG.test(type)) {
    if (!((typeof v === "number" && Number.isInteger(v)) || (typeof v === "string" && /^-?\d+$/.test(v)))) bad();
  } else if (type === "bytes") {
    if (typeof v !== "string") bad();
  } else out.push(`${path}: unknown scalar type ${type}`);
}

function checkValue(field: protobuf.Field, v: unknown, path: string, out: string[]): void {
  const rt = field.resolvedType;
  if (rt instanceof protobuf.Enum) {
    if (!(typeof v === "string" && v in rt.values) && !(typeof v === "number" && Object.values(rt.values).includes(v))) out.push(`${path}: ${JSON.stringify(v)} is not a ${rt.name}`);
  } else if (rt instanceof protobuf.Type) checkMessage(rt, v, path, out);
  else checkScalar(field.type, v, path, out);
}

/** Problems of `obj` as the proto3 JSON form of message `type` (empty when it decodes cleanly). */
export function strictCheck(type: protobuf.Type, obj: unknown, path = "$", out: string[] = []): string[] {
  checkMessage(type, obj, path, out);
  return out;
}

function checkMessage(type: protobuf.Type, obj: unknown, path: string, out: string[]): void {
  switch (type.fullName) {
    case ".google.protobuf.Struct":
      if (!obj || typeof obj !== "object" || Array.isArray(obj)) out.push(`${path}: not an object (Struct)`);
      return;
    case ".google.protobuf.Value":
      return;
    case ".google.protobuf.ListValue":
      if (!Array.isArray(obj)) out.push(`${path}: not a list (ListValue)`);
      return;
    case ".google.protobuf.Duration":
      if (typeof obj !== "string" || !/^-?\d+(\.\d{1,9})?s$/.test(obj)) out.push(`${path}: ${JSON.stringify(obj)} is not a Duration ("10s")`);
      return;
  }
  if (!obj || typeof obj !== "object" || Array.isArray(obj)) {
    out.push(`${path}: not an object (${type.name})`);
    return;
  }
  const byJson = new Map<string, protobuf.Field>();
  for (const f of type.fieldsArray) byJson.set(f.name, f);
  const seenOneof = new Map<string, string>();
  for (const [k, v] of Object.entries(obj)) {
    const f = byJson.get(k);
    const p = `${path}.${k}`;
    if (!f) {
      out.push(`${p}: no such field in ${type.fullName.slice(1)}`);
      continue;
    }
    if (f.partOf && f.partOf.oneof.length > 1 && !f.partOf.name.startsWith("_")) {
      const other = seenOneof.get(f.partOf.name);
      if (other) out.push(`${p}: oneof ${f.partOf.name} already set by ${other}`);
      seenOneof.set(f.partOf.name, k);
    }
    if (f instanceof protobuf.MapField) {
      if (!v || typeof v !== "object" || Array.isArray(v)) out.push(`${p}: not a map`);
      else for (const [mk, mv] of Object.entries(v)) checkValue(f, mv, `${p}[${JSON.stringify(mk)}]`, out);
    } else if (f.repeated) {
      if (!Array.isArray(v)) out.push(`${p}: not a list`);
      else v.forEach((x, i) => checkValue(f, x, `${p}[${i}]`, out));
    } else checkValue(f, v, p, out);
  }
}

/** Every problem of one emitted KFP file (its documents parsed from YAML). */
export function checkKfpDocs(root: protobuf.Root, docs: readonly unknown[]): string[] {
  const out: string[] = [];
  if (docs.length < 1 || docs.length > 2) out.push(`expected 1 or 2 documents, got ${docs.length}`);
  const spec = docs[0] as Record<string, unknown>;
  const PipelineSpec = root.lookupType("ml_pipelines.PipelineSpec");
  strictCheck(PipelineSpec, spec, "spec", out);
  strictCheck(root.lookupType("ml_pipelines.PipelineDeploymentConfig"), spec.deploymentSpec, "spec.deploymentSpec", out);
  if (docs[1] !== undefined) {
    const platform = docs[1] as { platforms?: Record<string, { deploymentSpec?: { executors?: Record<string, unknown> } }> };
    strictCheck(root.lookupType("ml_pipelines.PlatformSpec"), platform, "platform", out);
    const cfg = root.lookupType("kfp_kubernetes.KubernetesExecutorConfig");
    for (const [name, e] of Object.entries(platform.platforms?.kubernetes?.deploymentSpec?.executors ?? {})) strictCheck(cfg, e, `platform.executors.${name}`, out);
    if (Object.keys(platform.platforms ?? {}).some((k) => k !== "kubernetes")) out.push("platform: only the kubernetes platform is written");
  }
  return out;
}

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** References inside the spec that must resolve. */
export function referenceProblems(spec: Obj): string[] {
  const out: string[] = [];
  const comps: Obj = spec.components ?? {};
  const execs: Obj = spec.deploymentSpec?.executors ?? {};
  const checkDag = (where: string, comp: Obj, rootInputs: Obj | undefined) => {
    const tasks: Obj = comp.dag?.tasks ?? {};
    const inputs: Obj = rootInputs ?? comp.inputDefinitions?.parameters ?? {};
    for (const [name, t] of Object.entries(tasks)) {
      const w = `${where}.${name}`;
      const ref = comps[t.componentRef?.name];
      if (!ref) out.push(`${w}: component ${t.componentRef?.name} missing`);
      for (const d of t.dependentTasks ?? []) if (!(d in tasks)) out.push(`${w}: depends on unknown task ${d}`);
      for (const [k, p] of Object.entries<Obj>(t.inputs?.parameters ?? {})) {
        if (p.componentInputParameter !== undefined && !(p.componentInputParameter in inputs)) out.push(`${w}: input ${k} reads undeclared ${p.componentInputParameter}`);
        const prod = p.taskOutputParameter?.producerTask;
        if (prod !== undefined) {
          if (!(prod in tasks)) out.push(`${w}: input ${k} from unknown task ${prod}`);
          else if (!(t.dependentTasks ?? []).includes(prod)) out.push(`${w}: reads ${prod} without depending on it`);
          const outs = comps[tasks[prod].componentRef.name]?.outputDefinitions?.parameters ?? {};
          if (!(p.taskOutputParameter.outputParameterKey in outs)) out.push(`${w}: ${prod} has no output ${p.taskOutputParameter.outputParameterKey}`);
        }
        if (ref && !(k in (ref.inputDefinitions?.parameters ?? {}))) out.push(`${w}: input ${k} not declared by ${t.componentRef.name}`);
      }
      const it = t.parameterIterator;
      if (it && ref && !(it.itemInput in (ref.inputDefinitions?.parameters ?? {}))) out.push(`${w}: item input ${it.itemInput} not declared`);
      if (it?.items?.inputParameter !== undefined && !(it.items.inputParameter in (t.inputs?.parameters ?? {}))) out.push(`${w}: iterates over ${it.items.inputParameter}, not an input`);
    }
    for (const [k, o] of Object.entries<Obj>(comp.dag?.outputs?.parameters ?? {})) {
      const sub = o.valueFromParameter?.producerSubtask;
      if (!(sub in tasks)) out.push(`${where}: output ${k} from unknown subtask ${sub}`);
      if (!(k in (comp.outputDefinitions?.parameters ?? {}))) out.push(`${where}: output ${k} not declared`);
    }
  };
  checkDag("root", spec.root, spec.root.inputDefinitions?.parameters ?? {});
  for (const [name, c] of Object.entries<Obj>(comps)) {
    if (c.dag) checkDag(name, c, undefined);
    else if (!(c.executorLabel in execs)) out.push(`${name}: executor ${c.executorLabel} missing`);
  }
  return out;
}

