/**
 * The IR's JSON Schema, checked by `--target ir` and the tests (with the precompiled
 * validator, loaded on first use: compiling needs no schema check).
 */
import { createRequire } from "node:module";

export { irSchemaJson as irSchema } from "./schema-json.js";

interface ValidateFn {
  (x: unknown): boolean;
  errors?: { instancePath: string; message?: string }[] | null;
}

let validate: ValidateFn | undefined;

/** Messages for every way `ir` departs from the schema; empty when it conforms. */
export function checkSchema(ir: unknown): string[] {
  validate ??= (createRequire(import.meta.url)("./ir-validator.generated.cjs") as { default: ValidateFn }).default;
  const v = validate;
  if (v(ir)) return [];
  return (v.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message ?? "is invalid"}`);
}
