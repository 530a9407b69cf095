/**
 * The IR schema's validator as standalone JavaScript. Compiling the schema with ajv takes
 * about 150 ms, too much for every `couler compile`, so the compiled validator is kept in
 * `ir-validator.generated.js`; a test checks it is up to date (`UPDATE_GOLDEN=1` rewrites it).
 */
import { createRequire } from "node:module";
import { irSchemaJson } from "./schema-json.js";

export function validatorSource(): string {
  const require = createRequire(import.meta.url);
  const Ajv = require("ajv").default as typeof import("ajv").default;
  const standalone = require("ajv/dist/standalone").default as (ajv: InstanceType<typeof Ajv>, v: unknown) => string;
  // The first error is enough: a schema failure means a bug in the DSL, not in the user's program.
  const ajv = new Ajv({ allErrors: false, strict: true, strictRequired: false, code: { source: true, esm: true } });
  const code = standalone(ajv, ajv.compile(irSchemaJson));
  // ajv's ESM output still calls require() for its runtime helpers.
  const prelude = 'import { createRequire } from "node:module";\nconst require = createRequire(import.meta.url);\n';
  return `// Generated from src/ir/ir.schema.json by src/ir/validator-source.ts. Do not edit.\n// @ts-nocheck\n${prelude}${code}\n`;
}
