/** ajv validators for the engines' published schemas (see test/schemas/README.md). */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import type { ValidateFunction } from "ajv";
import { repoPath } from "./paths.js";

const require = createRequire(import.meta.url);
type AjvCtor = new (opts: object) => {
  addSchema(s: object): unknown;
  addFormat(name: string, f: object): unknown;
  getSchema(ref: string): ValidateFunction | undefined;
};

const cache = new Map<string, ValidateFunction>();

function load(file: string): { $id: string } & Record<string, unknown> {
  return JSON.parse(readFileSync(repoPath("test", "schemas", file), "utf8"));
}

function make(Ctor: AjvCtor, file: string, def: string | undefined): ValidateFunction {
  const key = `${file}#${def}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const ajv = new Ctor({ strict: false, allErrors: true });
  const integer = { type: "number", validate: (n: number) => Number.isInteger(n) };
  for (const f of ["int32", "int64", "uint64"]) ajv.addFormat(f, integer);
  for (const f of ["date-time", "uri", "uri-reference", "email", "regex", "byte", "date"]) ajv.addFormat(f, { type: "string", validate: () => true });
  const schema = load(file);
  ajv.addSchema(schema);
  const v = ajv.getSchema(def ? `${schema.$id}#/definitions/${def}` : schema.$id);
  if (!v) throw new Error(`no schema ${key}`);
  cache.set(key, v);
  return v;
}

/** Argo Workflows v4 (strict): `Workflow`, `WorkflowTemplate`, `CronWorkflow`... */
export function argoValidator(kind: string): ValidateFunction {
  return make(require("ajv/dist/2020").default as AjvCtor, "argo-workflows.strict.schema.json", `io.argoproj.workflow.v1alpha1.${kind}`);
}

/** Argo Workflows v3.7.9 (strict), for clusters still on v3. */
export function argoV3Validator(kind: string): ValidateFunction {
  return make(require("ajv/dist/2020").default as AjvCtor, "argo-workflows-v3.7.9.strict.schema.json", `io.argoproj.workflow.v1alpha1.${kind}`);
}

/** Tekton v1 (strict): `Pipeline`, `Task`, `PipelineRun`, `TaskRun`. */
export function tektonValidator(kind: string): ValidateFunction {
  return make(require("ajv").default as AjvCtor, "tekton-v1.strict.schema.json", kind);
}

/** The GitHub workflow schema (SchemaStore). */
export function githubValidator(): ValidateFunction {
  return make(require("ajv").default as AjvCtor, "github-workflow.schema.json", undefined);
}

export function errorsText(v: ValidateFunction): string {
  return (v.errors ?? []).slice(0, 10).map((e) => `${e.instancePath || "/"} ${e.message} ${JSON.stringify(e.params)}`).join("\n");
}
