/** The IR's JSON Schema, checked whenever a workflow is built (with the precompiled validator). */
import validate from "./ir-validator.generated.js";

export { irSchemaJson as irSchema } from "./schema-json.js";

interface ValidateFn {
  (x: unknown): boolean;
  errors?: { instancePath: string; message?: string }[] | null;
}

/** Messages for every way `ir` departs from the schema; empty when it conforms. */
export function checkSchema(ir: unknown): string[] {
  const v = validate as unknown as ValidateFn;
  if (v(ir)) return [];
  return (v.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message ?? "is invalid"}`);
}
