/** Every fixture × every target against its golden files (Hera style: examples are tests). */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { BACKENDS } from "../backends/registry.js";
import { compileFixture, goldenDir, goldenTargetFilter, listFixtures, readTree, UPDATE, writeGolden } from "./helpers/golden.js";

const fixtures = listFixtures();

const runs = BACKENDS.flatMap((b) => [
  { dir: b.name, target: b.name, options: {} as Readonly<Record<string, string>> },
  ...(b.goldenVariants ?? []).map((v) => ({ dir: `${b.name}-${v.name}`, target: b.name, options: v.options })),
]).filter((r) => goldenTargetFilter(r.target) || goldenTargetFilter(r.dir));

for (const run of runs) {
  describe(`golden ${run.dir}`, () => {
    for (const fixture of fixtures) {
      test(fixture, async () => {
        const got = await compileFixture(fixture, run.target, run.options);
        const dir = goldenDir(run.dir, fixture);
        if (UPDATE) {
          writeGolden(dir, got.files);
          return;
        }
        const want = readTree(dir);
        assert.ok(want.size > 0, `no golden files in ${dir}; run UPDATE_GOLDEN=1 npm test and review them`);
        assert.deepEqual([...got.files.keys()].sort(), [...want.keys()].sort(), `files produced for ${fixture}`);
        for (const [path, content] of want) assert.equal(got.files.get(path), content, `${dir}/${path}`);
        if (fixture.startsWith("fixtures/invalid/")) assert.notEqual(got.code, 0, "an invalid fixture must fail");
      });
    }
  });
}
