/** `--target ir`: the IR itself, as canonical JSON. Every feature is "supported" by definition. */
import type { Backend, OutputFile } from "../backend.js";
import { FEATURES, type Capabilities } from "../../src/ir/features.js";
import { canonicalJson } from "../../src/ir/canonical.js";
import { checkSchema } from "../../src/ir/schema.js";

const capabilities = Object.fromEntries(Object.keys(FEATURES).map((f) => [f, "yes"])) as unknown as Capabilities;

export const irBackend: Backend = {
  name: "ir",
  description: "the engine-neutral IR as canonical JSON (schema: src/ir/ir.schema.json)",
  capabilities,
  options: {},
  compile(wf, ctx): OutputFile[] {
    // What we print as the IR conforms to its schema (other targets rely on the DSL for that).
    for (const m of checkSchema(wf)) ctx.diagnostics.error("ir-schema", `internal: the IR does not match its schema: ${m}`, wf.loc);
    return [{ path: `${wf.name}.ir.json`, content: canonicalJson(wf) }];
  },
  joinForStdout(files): string {
    return files.map((f) => f.content).join("");
  },
};
