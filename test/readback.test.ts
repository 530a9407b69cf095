/**
 * Read-back equivalence: for every fixture and every backend that accepts it, the graph read
 * back from the emitted files equals the IR's graph (see test/readback/neutral-graph.ts for what
 * is compared and test/readback/*-reader.ts for how each target is read).
 */
import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { BACKENDS } from "../backends/registry.js";
import { type FixtureWorkflow, compileWith, loadFixtures } from "./readback/fixture-runs.js";
import { compareGraphs, graphOfIR } from "./readback/neutral-graph.js";
import { READERS } from "./readback/readers.js";

let fixtures: FixtureWorkflow[] = [];
before(async () => {
  fixtures = await loadFixtures();
});

for (const reader of READERS) {
  const variants = [{ name: "", options: {} as Readonly<Record<string, string>> }, ...(BACKENDS.find((b) => b.name === reader.target)?.goldenVariants ?? [])];
  describe(`read-back ${reader.target}`, () => {
    for (const variant of variants)
    test(`every accepted fixture reads back as the IR's graph${variant.name ? ` (${variant.name}: ${JSON.stringify(variant.options)})` : ""}`, async () => {
      assert.ok(fixtures.length >= 20, `only ${fixtures.length} fixtures loaded`);
      const problems: string[] = [];
      let accepted = 0;
      const graphs = [];
      for (const { fixture, workflow } of fixtures) {
        const files = compileWith(reader.target, workflow, variant.options);
        if (!files) continue;
        accepted++;
        graphs.push({ fixture, workflow, files });
      }
      const read = await reader.readMany(graphs.map((g) => ({ files: g.files, ir: g.workflow.ir })));
      graphs.forEach((g, i) => {
        const got = read[i]!;
        if ("error" in got) {
          problems.push(`${g.fixture}: cannot read back: ${got.error}`);
          return;
        }
        const diffs = compareGraphs(g.workflow.ir, graphOfIR(g.workflow.ir), got.graph, reader.compare);
        for (const d of diffs) problems.push(`${g.fixture}: ${d}`);
      });
      assert.ok(accepted >= 10, `${reader.target} accepts only ${accepted} fixtures`);
      const known = problems.filter((p) => reader.knownBugs.some((k) => p.includes(k.match)));
      const fresh = problems.filter((p) => !known.includes(p));
      assert.deepEqual(fresh, [], fresh.join("\n"));
    });
    for (const bug of reader.knownBugs) test(`known: ${bug.match}`, { todo: bug.why }, () => {});
  });
}

describe("read-back catches a wrong output", () => {
  // A reader that reads nothing would pass the suite above; each case edits one emitted detail
  // and expects the comparison to notice.
  const cases: [target: string, fixture: string, from: string, to: string, expect: RegExp][] = [
    ["argo", "depends-failure", "depends: A.Failed", "depends: A.Succeeded", /step "B" ends/],
    ["argo", "map", "- - name: square", "- - name: square\n            when: 'a == b'", /step "square": condition expected false/],
    ["argo", "params-outputs", "{{steps.train.outputs.parameters.accuracy}}", "{{steps.train.outputs.result}}", /step "evaluate": reads/],
    ["tekton", "params-outputs", "$(tasks.train.results.accuracy)", "$(tasks.train.results.model)", /step "evaluate": reads/],
    ["tekton", "exit-handler", "runAfter:", "unusedRunAfter:", /step "B": runs after/],
    ["github", "depends-failure", "needs.A.outputs.couler_failed == 'true' }}", "needs.A.result == 'success' }}", /step "B" ends/],
    ["github", "params-outputs", "${{ inputs.threshold }}", "x", /step "evaluate": reads/],
    ["airflow", "depends-failure", '{"step": "A", "status": "failed"}', '{"step": "A", "status": "succeeded"}', /step "B" ends/],
    ["airflow", "params-outputs", "couler_pick('outputs', 'accuracy')", "couler_pick('result')", /step "evaluate": reads/],
    ["airflow", "dag-diamond", ">>", "<<", /runs after/],
    ["kfp", "params-outputs", "- \"{{$.inputs.parameters['pipelinechannel--train--accuracy']}}\"", "- \"{{$.inputs.parameters['pipelinechannel--threshold']}}\"", /step "evaluate": reads/],
    ["kfp", "dag-diamond", "dependentTasks:", "unusedDependentTasks:", /runs after/],
    ["kfp", "coin-flip", "componentRef:\n          name: comp-heads--condition", "componentRef:\n          name: comp-heads", /step "heads": condition expected true/],
    // a condition on the wrapper task itself: KFP skips that DAG task, so "report" after it would not run
    ["kfp", "coin-flip", "        taskInfo:\n          name: heads\n      report:", "        taskInfo:\n          name: heads\n        triggerPolicy:\n          condition: 'true'\n      report:", /step "report" ends S by the IR but O/],
  ];
  for (const [target, name, from, to, expect] of cases) {
    test(`${target} ${name}: ${JSON.stringify(from)} -> ${JSON.stringify(to)}`, async () => {
      const fx = fixtures.find((f) => f.fixture === `fixtures/${name}.ts`);
      assert.ok(fx, name);
      const files = compileWith(target, fx.workflow);
      assert.ok(files, `${target} refuses ${name}`);
      const edited = files.map((f) => ({ ...f, content: f.content.replace(from, to) }));
      assert.ok(edited.some((f, i) => f.content !== files[i]!.content), "the edit applies");
      const reader = READERS.find((r) => r.target === target)!;
      const [res] = await reader.readMany([{ files: edited, ir: fx.workflow.ir }]);
      const diffs = "error" in res! ? [res.error] : compareGraphs(fx.workflow.ir, graphOfIR(fx.workflow.ir), res!.graph, reader.compare);
      assert.ok(diffs.some((d) => expect.test(d)), `no difference matching ${expect}: ${JSON.stringify(diffs)}`);
    });
  }
});
