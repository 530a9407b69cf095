/** The IR's JSON Schema document (see ir.schema.json). */
import schema from "./ir.schema.json" with { type: "json" };

export const irSchemaJson: object = schema;
