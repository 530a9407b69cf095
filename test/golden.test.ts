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
      });
    }
  });
}

describe("invalid fixtures", () => {
  for (const fixture of fixtures.filter((f) => f.startsWith("fixtures/invalid/"))) {
    test(`${fixture} fails with located diagnostics on at least one target`, () => {
      const failing = BACKENDS.filter((b) => /exit code: [12]\n$/.test(readTree(goldenDir(b.name, fixture)).get("diagnostics.txt") ?? ""));
      assert.ok(failing.length > 0, `${fixture} compiles cleanly on every target`);
      for (const b of failing) {
        const text = readTree(goldenDir(b.name, fixture)).get("diagnostics.txt")!;
        assert.match(text, /^(fixtures\/invalid\/[\w.-]+\.ts:\d+:\d+|couler): error: /m, `${b.name}: every failure names a location`);
      }
    });
  }
});
