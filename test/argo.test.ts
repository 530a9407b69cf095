/** Every Argo golden is a valid Workflow under the strict Argo schema, and reads the same in YAML 1.1 and 1.2. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import YAML from "yaml";
import { argoBackend, stepGroups } from "../backends/argo/argo-backend.js";
import { readTree } from "./helpers/golden.js";
import { repoPath } from "./helpers/paths.js";
import { argoV3Validator, argoValidator, errorsText, SCHEMAS_MISSING } from "./helpers/schemas.js";

const goldens = [...readTree(repoPath("golden", "argo"))].filter(([p]) => p.endsWith(".yaml"));

describe("argo goldens", () => {
  if (SCHEMAS_MISSING) test("Argo schema validation", { skip: SCHEMAS_MISSING }, () => {});
  test("there are Argo goldens to check", () => assert.ok(goldens.length >= 10, `only ${goldens.length}`));
  for (const [path, text] of goldens) {
    test(`${path} validates against the Argo v4.1.2 and v3.7.9 schemas and reads the same under YAML 1.1 and 1.2`, () => {
      const docs11 = YAML.parseAllDocuments(text, { version: "1.1" }).map((d) => d.toJS());
      const docs12 = YAML.parseAllDocuments(text, { version: "1.2" }).map((d) => d.toJS());
      assert.deepEqual(docs11, docs12);
      if (SCHEMAS_MISSING) return;
      for (const doc of docs12) {
        if (doc.kind === "Secret") continue;
        for (const v of [argoValidator(doc.kind), argoV3Validator(doc.kind)]) assert.ok(v(doc), `${path}: ${errorsText(v)}`);
      }
    });
  }
});

describe("argo backend", () => {
  test("declares a decision for every feature", () => {
    for (const [f, s] of Object.entries(argoBackend.capabilities)) assert.ok(s !== undefined, f);
  });
  test("a plain sequence of parallel groups becomes a steps template, anything else a DAG", () => {
    const loc = { file: "x.ts", line: 1, col: 1 };
    const step = (name: string, deps: string[]) => ({
      kind: "container" as const,
      name,
      loc,
      image: "alpine",
      ...(deps.length ? { depends: deps.length === 1 ? { kind: "on" as const, step: deps[0]!, status: "ok" as const } : { kind: "and" as const, of: deps.map((d) => ({ kind: "on" as const, step: d, status: "ok" as const })) } } : {}),
    });
    const wf = (steps: ReturnType<typeof step>[]) => ({ kind: "Workflow" as const, irVersion: 1 as const, name: "w", source: "x.ts", loc, config: {}, params: [], steps });
    assert.deepEqual(stepGroups(wf([step("a", []), step("b", ["a"]), step("c", ["a"]), step("d", ["b", "c"])]))?.map((g) => g.map((s) => s.name)), [["a"], ["b", "c"], ["d"]]);
    assert.equal(stepGroups(wf([step("a", []), step("b", ["a"]), step("c", ["a"]), step("d", ["b"])])), undefined);
    assert.equal(stepGroups(wf([step("a", []), step("b", []), step("c", ["a"])])), undefined);
  });
});

describe("secrets never reach a workflow manifest", () => {
  test("createSecret values appear only in the separate Secret file, and only with --argo-emit-secrets true", async () => {
    const { cli } = await import("./helpers/golden.js");
    const plain = await cli(["compile", "fixtures/secrets.ts", "--target", "argo"]);
    assert.equal(plain.code, 0, plain.stderr);
    assert.ok(!plain.stdout.includes("never-in-a-manifest"));
    assert.ok(!plain.stdout.includes("kind: Secret"));
    const { mkdtempSync, readFileSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const dir = mkdtempSync(join(tmpdir(), "couler-secrets-"));
    const r = await cli(["compile", "fixtures/secrets.ts", "--target", "argo", "--argo-emit-secrets", "true", "-o", dir]);
    assert.equal(r.code, 0, r.stderr);
    const wf = readFileSync(join(dir, "secrets.yaml"), "utf8");
    const sec = readFileSync(join(dir, "secrets-secrets.yaml"), "utf8");
    assert.ok(!wf.includes("never-in-a-manifest"));
    assert.deepEqual(YAML.parse(sec), {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "warehouse", namespace: "data" },
      type: "Opaque",
      stringData: { password: "never-in-a-manifest", username: "etl" },
    });
  });

  test("no target writes a declared secret's value", async () => {
    const { BACKENDS } = await import("../backends/registry.js");
    const { cli } = await import("./helpers/golden.js");
    for (const b of BACKENDS) {
      const r = await cli(["compile", "fixtures/secrets.ts", "--target", b.name]);
      assert.ok(!r.stdout.includes("never-in-a-manifest"), `${b.name} leaks a secret value`);
    }
  });
});
