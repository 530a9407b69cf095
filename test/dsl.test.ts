/** The DSL itself, used directly as a library. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  concurrent,
  createParameterArtifact,
  dag,
  param,
  runContainer,
  runScript,
  setDependencies,
  workflow,
} from "../src/index.js";
import { parseDependsText } from "../src/dsl/depends-text.js";
import { dedent } from "../src/dsl/function-source.js";
import { toValue } from "../src/dsl/values.js";
import { IMPLICIT_TYPE_PATTERNS, needsQuotes, toYaml } from "../backends/common/yaml.js";
import YAML from "yaml";
import fc from "fast-check";

const names = (wf: ReturnType<typeof workflow>) => wf.ir.steps.map((s) => s.name);
const deps = (wf: ReturnType<typeof workflow>, name: string) => wf.ir.steps.find((s) => s.name === name)?.depends;

describe("DSL", () => {
  test("two workflows built in one process, even nested, never share state", () => {
    let inner: ReturnType<typeof workflow> | undefined;
    const outer = workflow("outer", () => {
      runContainer({ stepName: "a", image: "alpine" });
      inner = workflow("inner", () => {
        runContainer({ stepName: "a", image: "busybox" });
      });
      runContainer({ stepName: "b", image: "alpine" });
    });
    assert.deepEqual(names(outer), ["a", "b"]);
    assert.deepEqual(names(inner!), ["a"]);
    assert.equal((inner!.ir.steps[0] as { image: string }).image, "busybox");
    assert.deepEqual(deps(outer, "b"), { kind: "on", step: "a", status: "ok" });
  });

  test("DSL calls outside workflow() throw a located error", () => {
    assert.throws(() => runContainer({ image: "alpine" }), /runContainer\(\) must be called inside the body of workflow/);
  });

  test("auto names come from the image or function and count up in call order", () => {
    const wf = workflow("names", () => {
      runContainer({ image: "alpine:3.20" });
      runContainer({ image: "ghcr.io/org/my_tool@sha256:abc" });
      runContainer({ image: "alpine:3.19" });
      runScript({ image: "node:20", source: function computeTotals() { return 1; } });
    });
    assert.deepEqual(names(wf), ["alpine", "my-tool", "alpine-2", "compute-totals"]);
  });

  test("built workflows are frozen", () => {
    const wf = workflow("frozen", () => void runContainer({ image: "alpine" }));
    assert.ok(Object.isFrozen(wf) && Object.isFrozen(wf.ir) && Object.isFrozen(wf.ir.steps[0]));
  });

  test("sequence, concurrent and a DAG section wire the expected edges", () => {
    const wf = workflow("edges", () => {
      runContainer({ stepName: "s", image: "x" });
      concurrent([() => runContainer({ stepName: "p", image: "x" }), () => runContainer({ stepName: "q", image: "x" })]);
      dag([[() => runContainer({ stepName: "A", image: "x" }), () => runContainer({ stepName: "B", image: "x" })], [() => runContainer({ stepName: "A", image: "x" }), () => runContainer({ stepName: "C", image: "x" })]]);
      runContainer({ stepName: "t", image: "x" });
    });
    assert.equal(wf.diagnostics.length, 0, JSON.stringify(wf.diagnostics));
    const on = (step: string) => ({ kind: "on", step, status: "ok" });
    assert.deepEqual(deps(wf, "p"), on("s"));
    assert.deepEqual(deps(wf, "A"), { kind: "and", of: [on("p"), on("q")] });
    assert.deepEqual(deps(wf, "B"), on("A"));
    assert.deepEqual(deps(wf, "t"), { kind: "and", of: [on("B"), on("C")] });
  });

  test("consecutive setDependencies form one section whose edges are exactly the declared ones", () => {
    const wf = workflow("sd", () => {
      runContainer({ stepName: "pre", image: "x" });
      setDependencies(() => runContainer({ stepName: "A", image: "x" }), []);
      setDependencies(() => runContainer({ stepName: "B", image: "x" }), "A.Failed || A.Errored");
      setDependencies(() => runContainer({ stepName: "C", image: "x" }), ["A"]);
      runContainer({ stepName: "post", image: "x" });
    });
    assert.deepEqual(deps(wf, "A"), { kind: "on", step: "pre", status: "ok" });
    assert.deepEqual(deps(wf, "B"), { kind: "or", of: [{ kind: "on", step: "A", status: "failed" }, { kind: "on", step: "A", status: "errored" }] });
    assert.deepEqual(deps(wf, "post"), { kind: "and", of: [{ kind: "on", step: "B", status: "ok" }, { kind: "on", step: "C", status: "ok" }] });
  });

  test("using an output adds a data edge; ordering alone never passes data", () => {
    const wf = workflow("data", () => {
      let a!: ReturnType<typeof runContainer>;
      concurrent([
        () => (a = runContainer({ stepName: "a", image: "x", output: createParameterArtifact("/tmp/o", { name: "o" }) })),
        () => runContainer({ stepName: "b", image: "x" }),
      ]);
      setDependencies(() => runContainer({ stepName: "c", image: "x", args: [a.outputs.o!] }), ["b"]);
    });
    assert.deepEqual(deps(wf, "c"), { kind: "and", of: [{ kind: "on", step: "b", status: "ok" }, { kind: "on", step: "a", status: "ok" }] });
  });

  test("template strings carry references as structured values", () => {
    let v: unknown;
    workflow("tokens", () => {
      const day = param("day");
      const s = runContainer({ stepName: "s", image: "x" });
      v = toValue(`--day=${day} --from=${s.result}!`);
      runContainer({ image: "x", args: [day, s.result] });
    });
    assert.deepEqual(v, {
      kind: "concat",
      parts: ["--day=", { kind: "param", name: "day" }, " --from=", { kind: "result", step: "s" }, "!"],
    });
  });

  test("dependency text parses with precedence and statuses", () => {
    assert.deepEqual(parseDependsText("a && !b.Failed || c.AnySucceeded"), {
      kind: "or",
      of: [
        { kind: "and", of: [{ kind: "on", step: "a", status: "ok" }, { kind: "not", of: { kind: "on", step: "b", status: "failed" } }] },
        { kind: "on", step: "c", status: "anySucceeded" },
      ],
    });
    assert.throws(() => parseDependsText("a &&"), /expected a step name/);
    assert.throws(() => parseDependsText("a.Done"), /unknown status "Done"/);
  });

  test("a function source becomes its body, dedented", () => {
    const wf = workflow("fn", () => {
      runScript({
        image: "node:20",
        source: (x = { a: "}" }) => {
          // a comment with a brace }
          console.log(x.a);
        },
      });
      runScript({ image: "node:20", source: () => console.log("expr") });
    });
    const src = wf.ir.steps.map((s) => (s.kind === "script" ? s.source : ""));
    assert.equal(src[0], '// a comment with a brace }\nconsole.log(x.a);\n');
    assert.equal(src[1], 'console.log("expr")\n');
    assert.equal(dedent("\n    a\n      b\n"), "a\n  b\n");
  });
});

describe("YAML for YAML 1.1 and 1.2 readers", () => {
  const specials = ["yes", "no", "on", "off", "y", "n", "~", "null", "0123", "1_000", "0o17", "0x1F", "1e3", ".inf", "12:30", "2024-01-01", "true", "<<", "="];
  test("every special is quoted and reads back as the same string in both versions", () => {
    const text = toYaml({ values: specials, plain: ["hello", "a b"] });
    for (const version of ["1.1", "1.2"] as const) assert.deepEqual(YAML.parse(text, { version }), { values: specials, plain: ["hello", "a b"] });
    for (const s of specials) assert.ok(needsQuotes(s), s);
    assert.ok(!needsQuotes("hello"));
  });
});

describe("YAML emitter", () => {
  test("the implicit-type patterns are the yaml package's, for both versions", () => {
    const fromPackage = (["1.1", "1.2"] as const).flatMap((version) =>
      new YAML.Document({}, { version }).schema.tags
        .filter((t) => t.tag !== "tag:yaml.org,2002:str" && t.default === true && t.test instanceof RegExp)
        .map((t) => (t.test as RegExp).source),
    );
    assert.deepEqual(IMPLICIT_TYPE_PATTERNS.map((r) => r.source), fromPackage);
  });
  const hostile = [
    "", " ", "a ", " a", "-", "- a", "-a", "---", "...", "? a", ": a", "a: b", "a #b", "a#b", "#", "[a]", "{a: b}", "a,b", "*x", "&x", "!x", "|", ">", "%x", "@x", "`x",
    "'", '"', "\\", "a\nb", "a\n", "a\n\n", "\n", "\na", " a\nb", "a\n b", "\ta\nb", "a\r\nb", "\u0000", "\u0085", "\u00a0", "\u2028", "\ufeff",
    "é", "😀", "\ud800", "{{x}}", "${{ x }}", "$(x)", "on", "Off", "y", "~", "null", "0123", "1_000", "0o17", "0x1F", "1e3", ".5", "1.", "12:30:01", "2024-01-01", "true",
  ];
  const roundTrip = (v: unknown) => {
    const text = toYaml(v);
    for (const version of ["1.1", "1.2"] as const) assert.deepEqual(YAML.parse(text, { version }), v, `${version}: ${text}`);
  };
  test("hostile strings survive as values and keys, in maps and lists, nested", () => {
    roundTrip({ values: hostile, nested: [[...hostile], { inner: hostile }] });
    roundTrip(Object.fromEntries(hostile.filter((h) => h !== "").map((h, i) => [h, i])));
  });
  test("numbers, booleans, null and empty collections", () => {
    roundTrip({ n: [0, -1, 3.5, 1e-7, 123456789], b: [true, false], z: null, e: [], o: {}, l: [[], {}, [[1]]] });
  });
  test("random JSON round-trips (fast-check, fixed seed)", () => {
    const json = fc.letrec((tie) => ({
      value: fc.oneof(
        { depthSize: "small" },
        fc.string({ unit: "binary" }),
        fc.string({ unit: fc.constantFrom("a", " ", "\n", "-", ":", "#", "'", '"', "\\", "\t", "{", "}", "0", "1", "e", ".", "é", "😀", "\u0085") }),
        fc.integer(),
        fc.boolean(),
        fc.constant(null),
        fc.array(tie("value"), { maxLength: 4 }),
        fc.dictionary(fc.string({ unit: fc.constantFrom("a", "b", " ", ":", "-", "#", "1", "y") }), tie("value"), { maxKeys: 4, noNullPrototype: true }),
      ),
    })).value;
    fc.assert(fc.property(json, (v) => roundTrip(v)), { seed: 20261128, numRuns: 400 });
  });
});
