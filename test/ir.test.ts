/** The IR: its JSON Schema, the precompiled validator, canonical printing. */
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { describe, test } from "node:test";
import { canonicalJson } from "../src/ir/canonical.js";
import { checkSchema, irSchema } from "../src/ir/schema.js";
import { validatorSource } from "../src/ir/validator-source.js";
import { loadWorkflowFile } from "../src/loader/load.js";
import { listFixtures, readTree, UPDATE } from "./helpers/golden.js";
import { repoPath } from "./helpers/paths.js";
import { randomWorkflow } from "./helpers/random-workflow.js";

describe("IR schema", () => {
  test("the precompiled validator is up to date with ir.schema.json", () => {
    const file = repoPath("src", "ir", "ir-validator.generated.cjs");
    const want = validatorSource();
    if (UPDATE) writeFileSync(file, want);
    assert.equal(readFileSync(file, "utf8"), want, "run UPDATE_GOLDEN=1 npm test to regenerate src/ir/ir-validator.generated.cjs");
  });

  test("rejects what the schema forbids", () => {
    assert.deepEqual(checkSchema({ kind: "Workflow" }).length > 0, true);
    const loc = { file: "x.ts", line: 1, col: 1 };
    const ok = { kind: "Workflow", irVersion: 1, name: "w", source: "x.ts", loc, config: {}, params: [], steps: [{ kind: "container", name: "a", loc, image: "alpine" }] };
    assert.deepEqual(checkSchema(ok), []);
    assert.notDeepEqual(checkSchema({ ...ok, steps: [{ kind: "container", name: "a", loc, image: "alpine", source: "x" }] }), []);
    assert.notDeepEqual(checkSchema({ ...ok, steps: [{ kind: "resource", name: "a", loc, action: "create" }] }), []);
    assert.notDeepEqual(checkSchema({ ...ok, extra: 1 }), []);
  });

  test("every IR golden conforms to the schema (checked by ajv from the JSON file)", () => {
    const require = createRequire(import.meta.url);
    const Ajv = require("ajv").default;
    const validate = new Ajv({ allErrors: true, strict: true, strictRequired: false }).compile(irSchema);
    const goldens = [...readTree(repoPath("golden", "ir"))].filter(([p]) => p.endsWith(".ir.json"));
    assert.ok(goldens.length > 20);
    for (const [path, text] of goldens) {
      const ir = JSON.parse(text);
      assert.ok(validate(ir), `${path}: ${JSON.stringify(validate.errors)}`);
      assert.equal(canonicalJson(ir), text, `${path} is canonical`);
    }
  });

  // Compiling does not check the schema (the DSL guarantees the shape); these keep it honest.
  test("the IR of every valid fixture conforms to the schema", async () => {
    const fixtures = listFixtures().filter((f) => !f.startsWith("fixtures/invalid/"));
    assert.ok(fixtures.length > 20);
    for (const f of fixtures) {
      const loaded = await loadWorkflowFile(repoPath(f), f);
      assert.ok(loaded.workflows.length > 0, f);
      for (const { workflow } of loaded.workflows) assert.deepEqual(checkSchema(workflow.ir), [], `${f}: ${workflow.name}`);
    }
  });

  test("the IR of random workflows conforms to the schema", () => {
    for (let seed = 1; seed <= 60; seed++) {
      const wf = randomWorkflow(seed, 1 + ((seed * 37) % 200));
      assert.deepEqual(checkSchema(wf.ir), [], `random workflow ${seed}`);
    }
  });

  test("canonical JSON sorts keys at every level and drops undefined", () => {
    assert.equal(canonicalJson({ b: 1, a: { d: [2, { z: 1, y: undefined, x: 0 }], c: "" } }), '{\n  "a": {\n    "c": "",\n    "d": [\n      2,\n      {\n        "x": 0,\n        "z": 1\n      }\n    ]\n  },\n  "b": 1\n}\n');
  });
});

describe("docs", () => {
  test("docs/features.md is what `couler targets --features` prints", async () => {
    const { featureTable } = await import("../src/feature-table.js");
    const { BACKENDS } = await import("../backends/registry.js");
    const { mkdirSync } = await import("node:fs");
    const file = repoPath("docs", "features.md");
    const want = featureTable(BACKENDS);
    if (UPDATE) {
      mkdirSync(repoPath("docs"), { recursive: true });
      writeFileSync(file, want);
    }
    assert.equal(readFileSync(file, "utf8"), want, "run UPDATE_GOLDEN=1 npm test to regenerate docs/features.md");
  });
});
