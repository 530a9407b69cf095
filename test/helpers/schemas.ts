/**
 * ajv validators for the engines' published schemas. The schemas are derived from the engines'
 * repositories, so they are not part of this project: they are read at test time from
 * `$COULER_SCHEMAS_DIR`, else from `../shared/schemas` beside the checkout (see its README.md),
 * and the checks that need them are skipped, saying so, where neither exists.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
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

/** The folder holding the engines' schemas, or undefined when there is none. */
export function schemasDir(): string | undefined {
  const env = process.env.COULER_SCHEMAS_DIR;
  if (env) return existsSync(env) ? env : undefined;
  const beside = repoPath("..", "shared", "schemas");
  return existsSync(beside) ? beside : undefined;
}

const FILES = ["argo-workflows.strict.schema.json", "argo-workflows-v3.7.9.strict.schema.json", "tekton-v1.strict.schema.json", "github-workflow.schema.json"];

/**
 * Why the schema checks are skipped (a message for `test(..., { skip })`), or false when every
 * schema file is there.
 */
export const SCHEMAS_MISSING: string | false = (() => {
  const dir = schemasDir();
  const where = process.env.COULER_SCHEMAS_DIR ? `$COULER_SCHEMAS_DIR (${process.env.COULER_SCHEMAS_DIR})` : "../shared/schemas beside the checkout";
  if (!dir) return `engine schemas not found in ${where}: schema validation skipped`;
  const missing = FILES.filter((f) => !existsSync(join(dir, f)));
  return missing.length ? `engine schemas missing in ${dir} (${missing.join(", ")}): schema validation skipped` : false;
})();

function load(file: string): { $id: string } & Record<string, unknown> {
  const dir = schemasDir();
  if (!dir) throw new Error(String(SCHEMAS_MISSING));
  return JSON.parse(readFileSync(join(dir, file), "utf8"));
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
