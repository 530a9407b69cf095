/** The IR's JSON Schema, checked whenever a workflow is built. */
import { createRequire } from "node:module";
import type { ValidateFunction } from "ajv";
import schema from "./ir.schema.json" with { type: "json" };

export { schema as irSchema };

let validate: ValidateFunction | undefined;

function validator(): ValidateFunction {
  if (!validate) {
    // ajv is CommonJS; requiring it keeps its default-export shape simple under nodenext.
    const Ajv = createRequire(import.meta.url)("ajv") as typeof import("ajv").default;
    validate = new Ajv({ allErrors: true, strict: true, strictRequired: false }).compile(schema);
  }
  return validate;
}

/** Messages for every way `ir` departs from the schema; empty when it conforms. */
export function checkSchema(ir: unknown): string[] {
  const v = validator();
  if (v(ir)) return [];
  return (v.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message ?? "is invalid"}`);
}
