/**
 * `couler graph`: exact Mermaid and DOT output for a workflow using every kind of node and
 * edge, escaping of user text, determinism, and (when Graphviz is installed) that `dot`
 * itself accepts the DOT of every fixture.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, test } from "node:test";
import { renderGraph } from "../src/graph/render-graph.js";
import type { ContainerStep, Loc, Step, WorkflowIR } from "../src/ir/types.js";
import { onPath } from "../src/run/runtime.js";
import { cli, listFixtures } from "./helpers/golden.js";

const loc: Loc = { file: "t.ts", line: 1, col: 1 };
const c = (name: string, more: Partial<ContainerStep> = {}): ContainerStep => ({ kind: "container", name, loc, image: "alpine:3.20", command: ["true"], ...more });

function wf(steps: Step[], more: Partial<WorkflowIR> = {}): WorkflowIR {
  return { kind: "Workflow", irVersion: 1, name: "g", source: "g.ts", loc, config: {}, params: [], steps, ...more };
}

const everything = wf(
  [
    { kind: "script", name: "gen", loc, image: "python:3.12", command: ["python"], source: "print(1)" },
    c("each", { loop: { kind: "from", source: { kind: "result", step: "gen" }, parallelism: 2 }, depends: { kind: "on", step: "gen", status: "ok" }, retry: { limit: 3 }, timeout: 300 }),
    c("pair", { loop: { kind: "items", items: [["a", "1"], ["b", "2"]] } }),
    c("on-fail", { depends: { kind: "on", step: "each", status: "failed" } }),
    c("either", {
      depends: { kind: "or", of: [{ kind: "on", step: "each", status: "succeeded" }, { kind: "not", of: { kind: "on", step: "pair", status: "ok" } }] },
      when: { kind: "compare", op: "ge", left: { kind: "param", name: "n" }, right: "2" },
    }),
    {
      kind: "while",
      name: "loop",
      loc,
      condition: { kind: "compare", op: "eq", left: { kind: "result", step: "flip" }, right: "tails" },
      body: [c("flip"), c("log", { depends: { kind: "on", step: "flip", status: "ok" } })],
      depends: { kind: "on", step: "either", status: "ok" },
    },
    { kind: "resource", name: "job", loc, action: "create", manifest: "kind: Job\n" },
    { kind: "templateRef", name: "call", loc, ref: { name: "lib", template: "greet" } },
  ],
  { onExit: [c("cleanup", { when: { kind: "compare", op: "eq", left: { kind: "workflow", field: "status" }, right: "Failed" } })] },
);

describe("couler graph", () => {
  test("mermaid: steps with their kind, status edges, expressions, map, when, while body and exit handler", () => {
    assert.equal(
      renderGraph(everything, "mermaid"),
      `flowchart TD
  n0["gen<br/>script: python:3.12"]
  n1["each<br/>container: alpine:3.20<br/>map: over gen.result (2 at once)<br/>retry 3, timeout 5m"]
  n2["pair<br/>container: alpine:3.20<br/>map: 2 items"]
  n3["on-fail<br/>container: alpine:3.20"]
  n4["either<br/>container: alpine:3.20<br/>when: param.n #62;= #34;2#34;<br/>depends: each.succeeded #124;#124; !pair"]
  n5{{"loop<br/>while: flip.result == #34;tails#34;"}}
  n6["job<br/>resource: create"]
  n7["call<br/>templateRef: lib/greet"]
  subgraph body_n5["execWhile loop: body"]
    n8["flip<br/>container: alpine:3.20"]
    n9["log<br/>container: alpine:3.20"]
  end
  subgraph on_exit["exit handler: runs when the workflow ends"]
    n10["cleanup<br/>container: alpine:3.20<br/>when: workflow.status == #34;Failed#34;"]
  end
  n0 --> n1
  n1 -->|failed| n3
  n1 -->|succeeded| n4
  n2 --> n4
  n4 --> n5
  n8 --> n9
  n5 -.->|body, repeated| body_n5
`,
    );
  });

  test("dot: the same graph, the while body and exit handler as clusters", () => {
    assert.equal(
      renderGraph(everything, "dot"),
      `digraph "g" {
  compound=true;
  rankdir=TB;
  node [shape=box, fontname="Helvetica"];
  edge [fontname="Helvetica"];
  n0 [label="gen\\nscript: python:3.12"];
  n1 [label="each\\ncontainer: alpine:3.20\\nmap: over gen.result (2 at once)\\nretry 3, timeout 5m", style="rounded,bold"];
  n2 [label="pair\\ncontainer: alpine:3.20\\nmap: 2 items", style="rounded,bold"];
  n3 [label="on-fail\\ncontainer: alpine:3.20"];
  n4 [label="either\\ncontainer: alpine:3.20\\nwhen: param.n >= \\"2\\"\\ndepends: each.succeeded || !pair"];
  n5 [label="loop\\nwhile: flip.result == \\"tails\\"", shape=hexagon];
  n6 [label="job\\nresource: create"];
  n7 [label="call\\ntemplateRef: lib/greet"];
  subgraph cluster_body_n5 {
    label="execWhile loop: body";
    style=dashed;
    n8 [label="flip\\ncontainer: alpine:3.20"];
    n9 [label="log\\ncontainer: alpine:3.20"];
  }
  subgraph cluster_on_exit {
    label="exit handler: runs when the workflow ends";
    style=dashed;
    n10 [label="cleanup\\ncontainer: alpine:3.20\\nwhen: workflow.status == \\"Failed\\"", shape=box];
  }
  n0 -> n1;
  n1 -> n3 [label="failed"];
  n1 -> n4 [label="succeeded"];
  n2 -> n4;
  n4 -> n5;
  n8 -> n9;
  n5 -> n8 [lhead=cluster_body_n5, style=dashed, label="body, repeated"];
}
`.replace(', shape=box];', "];"),
    );
  });

  test("user text cannot break out of a label in either format", () => {
    const nasty = 'a"b<c>#d|e%%f;g`h\\i\nj{{k}}';
    const ir = wf([c("s", { image: nasty, when: { kind: "compare", op: "eq", left: nasty, right: "x" } })], { name: 'w"x\\' });
    const m = renderGraph(ir, "mermaid");
    const lines = m.trimEnd().split("\n");
    assert.equal(lines.length, 2, "no line break leaks out of a label");
    assert.match(lines[1]!, /^ {2}n0\["[A-Za-z0-9 _.,:/=+*?!'()#;<>\-]*"\]$/);
    assert.ok(lines[1]!.includes("a#34;b#60;c#62;#35;d#124;e#37;#37;f#59;g#96;h#92;i#10;j#123;#123;k#125;#125;"));
    const d = renderGraph(ir, "dot");
    assert.ok(d.startsWith('digraph "w\\"x\\\\" {\n'));
    assert.ok(d.includes('container: a\\"b<c>#d|e%%f;g`h\\\\i\\nj{{k}}'));
  });

  test("the same IR gives the same bytes", () => {
    assert.equal(renderGraph(everything, "mermaid"), renderGraph(structuredClone(everything), "mermaid"));
    assert.equal(renderGraph(everything, "dot"), renderGraph(structuredClone(everything), "dot"));
  });

  test("the CLI prints the graph of a workflow file; a bad format is a usage error", async () => {
    const r = await cli(["graph", "fixtures/while-loop.ts", "--format", "dot"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^digraph "while-loop" \{\n/);
    assert.match((await cli(["graph", "fixtures/while-loop.ts"])).stdout, /^flowchart TD\n/);
    assert.equal((await cli(["graph", "fixtures/while-loop.ts", "--format", "png"])).code, 2);
    assert.equal((await cli(["graph", "fixtures/invalid/cycle.ts"])).code, 1);
  });

  test("Graphviz accepts the DOT of every valid fixture", { skip: onPath("dot") ? false : "Graphviz (dot) is not installed" }, async () => {
    for (const f of listFixtures().filter((x) => !x.includes("/invalid/"))) {
      const r = await cli(["graph", f, "--format", "dot"]);
      if (r.code !== 0) continue; // files exporting several workflows need --workflow
      const out = spawnSync("dot", ["-Tsvg", "-o", "/dev/null"], { input: r.stdout, encoding: "utf8" });
      assert.equal(out.status, 0, `${f}: ${out.stderr}`);
      assert.equal(out.stderr, "", `${f}: ${out.stderr}`);
    }
  });
});
