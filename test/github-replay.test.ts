/**
 * The GitHub Actions replay's own rules, on small hand-written workflows: the runner's file
 * commands and shell templates, step and job continue-on-error, status functions, matrices.
 * (test/replay.test.ts runs every fixture through it against `couler run`.)
 */
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import YAML from "yaml";
import { cleanup, serial } from "./replay/local.js";
import { runWorkflowFile } from "./replay/github/replay.js";
import { parseFileCommands, shellArgv } from "./replay/github/runner-files.js";

after(cleanup);

const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/root", LANG: "C.UTF-8" };

function run(yaml: string) {
  return serial(() => runWorkflowFile(YAML.parse(yaml), { params: {}, env, secrets: {} }, {}));
}

describe("github replay: runner rules", () => {
  test("$GITHUB_OUTPUT: name=value, heredoc values (newline before the delimiter dropped), errors", () => {
    assert.deepEqual(parseFileCommands("a=1\n\nb<<EOF\nx\ny\nEOF\nc=d=e\n"), [["a", "1"], ["b", "x\ny"], ["c", "d=e"]]);
    assert.deepEqual(parseFileCommands("e<<EOF\nEOF\n"), [["e", ""]]);
    assert.throws(() => parseFileCommands("a<<EOF\nx\n"), /Matching delimiter not found/);
    assert.throws(() => parseFileCommands("just text\n"), /Invalid format/);
  });

  test("shell templates: sh -e, bash with pipefail, python, a custom format, the default", () => {
    assert.deepEqual(shellArgv("sh", "/t/s.sh"), ["sh", "-e", "/t/s.sh"]);
    assert.deepEqual(shellArgv("bash", "/t/s.sh"), ["bash", "--noprofile", "--norc", "-e", "-o", "pipefail", "/t/s.sh"]);
    assert.deepEqual(shellArgv("python", "/t/s.py"), ["python", "/t/s.py"]);
    assert.deepEqual(shellArgv("node {0}", "/t/s"), ["node", "/t/s"]);
    assert.deepEqual(shellArgv(undefined, "/t/s.sh"), ["bash", "-e", "/t/s.sh"]);
    assert.throws(() => shellArgv("perl -w", "/t/s"), /\{0\}/);
  });

  test("step continue-on-error: outcome failure, conclusion success; the job goes on", async () => {
    const { jobs, failed } = await run(`
jobs:
  a:
    outputs: { o: "\${{ steps.x.outcome }}-\${{ steps.x.conclusion }}", after: "\${{ steps.y.outputs.v }}" }
    steps:
      - { id: x, shell: sh, run: "exit 3", continue-on-error: true }
      - { id: y, shell: sh, run: "echo v=ran >> \\"$GITHUB_OUTPUT\\"" }
`);
    assert.equal(failed, false);
    assert.deepEqual(jobs.get("a")!.outputs, { o: "failure-success", after: "ran" });
  });

  test("a failed step skips later steps unless their if has a status function", async () => {
    const { jobs, failed } = await run(`
jobs:
  a:
    outputs: { s: "\${{ steps.y.outcome }}", f: "\${{ steps.z.outputs.v }}" }
    steps:
      - { id: x, shell: sh, run: "exit 1" }
      - { id: y, shell: sh, run: "true" }
      - { id: z, if: "\${{ failure() }}", shell: sh, run: "echo v=yes >> \\"$GITHUB_OUTPUT\\"" }
`);
    assert.equal(failed, true);
    assert.deepEqual(jobs.get("a")!.outputs, { s: "skipped", f: "yes" });
  });

  test("job continue-on-error: reported success to needs, the run does not fail; needs and failure() at job level", async () => {
    const { jobs, failed } = await run(`
jobs:
  a: { continue-on-error: true, steps: [ { shell: sh, run: "exit 1" } ] }
  b: { needs: a, if: "needs.a.result == 'success'", steps: [ { shell: sh, run: "true" } ] }
  c: { steps: [ { shell: sh, run: "exit 1" } ] }
  d: { needs: c, steps: [ { shell: sh, run: "true" } ] }
  e: { needs: d, if: "\${{ failure() }}", steps: [ { shell: sh, run: "true" } ] }
`);
    assert.equal(jobs.get("a")!.result, "success");
    assert.equal(jobs.get("b")!.result, "success");
    assert.equal(jobs.get("d")!.result, "skipped");
    assert.equal(jobs.get("e")!.result, "success", "failure() sees the failed ancestor c");
    assert.equal(failed, true);
  });

  test("matrix: crossed vectors, job-index, outputs merged with the last non-empty value winning, fail-fast", async () => {
    const { jobs } = await run(`
jobs:
  m:
    strategy: { fail-fast: false, matrix: { item: "\${{ fromJSON('[\\"a\\",\\"b\\",\\"c\\"]') }}" } }
    outputs: { last: "\${{ steps.s.outputs.v }}" }
    steps:
      - { id: s, shell: sh, env: { I: "\${{ matrix.item }}", N: "\${{ strategy.job-index }}" }, run: "if [ \\"$I\\" != c ]; then echo v=$I$N >> \\"$GITHUB_OUTPUT\\"; fi" }
  f:
    strategy: { matrix: { item: [1, 2, 3] } }
    steps:
      - { shell: sh, env: { I: "\${{ matrix.item }}" }, run: "[ \\"$I\\" != 1 ]" }
`);
    assert.equal(jobs.get("m")!.instances.length, 3);
    assert.deepEqual(jobs.get("m")!.outputs, { last: "b1" });
    assert.equal(jobs.get("f")!.result, "failure");
    assert.equal(jobs.get("f")!.instances.length, 1, "fail-fast (the default) cancels the instances not yet finished");
  });
});
