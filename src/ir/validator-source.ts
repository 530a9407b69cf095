/**
 * The IR schema's validator as standalone JavaScript. Compiling the schema with ajv takes
 * about 150 ms, too much for `couler compile --target ir`, so the compiled validator is kept
 * in `ir-validator.generated.cjs`; a test checks it is up to date (`UPDATE_GOLDEN=1` rewrites
 * it). CommonJS, so that it is only loaded (a megabyte of code) when something validates.
 */
import { createRequire } from "node:module";
import { irSchemaJson } from "./schema-json.js";

export function validatorSource(): string {
  const require = createRequire(import.meta.url);
  const Ajv = require("ajv").default as typeof import("ajv").default;
  const standalone = require("ajv/dist/standalone").default as (ajv: InstanceType<typeof Ajv>, v: unknown) => string;
  // The first error is enough: a schema failure means a bug in the DSL, not in the user's program.
  const ajv = new Ajv({ allErrors: false, strict: true, strictRequired: false, code: { source: true, esm: false } });
  const code = standalone(ajv, ajv.compile(irSchemaJson));
  return `// Generated from src/ir/ir.schema.json by src/ir/validator-source.ts. Do not edit.\n// @ts-nocheck\n${code}\n`;
}
