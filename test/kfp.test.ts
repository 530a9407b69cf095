/**
 * KFP backend: every emitted document decodes through the pipeline spec's protobuf messages
 * (strictly: unknown keys and wrong types are errors), `deploymentSpec` as
 * PipelineDeploymentConfig and each platform executor as KubernetesExecutorConfig; the spec's
 * own references resolve (components, executors, producer tasks, component inputs); and the
 * wrapper script really runs under sh.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import YAML from "yaml";
import { wrapperScript } from "../backends/kfp/wrapper.js";
import { celString } from "../backends/kfp/values.js";
import { kfpBackend } from "../backends/kfp/kfp-backend.js";
import { compileWorkflow } from "../src/compile.js";
import { bigger, createLocalArtifact, equal, param, runContainer, runScript, when, workflow, type Workflow } from "../src/index.js";
import { checkKfpDocs, kfpProtoDir, kfpRoot, referenceProblems } from "./helpers/kfp-proto.js";
import { type FixtureWorkflow, compileWith, loadFixtures } from "./readback/fixture-runs.js";
import { readKfp } from "./readback/kfp-reader.js";
import { compareGraphs, graphOfIR } from "./readback/neutral-graph.js";


let fixtures: FixtureWorkflow[] = [];
before(async () => {
  fixtures = await loadFixtures();
});

describe("kfp: emitted specs decode through the KFP protobuf messages", () => {
  const dir = kfpProtoDir();
  test("every accepted fixture decodes strictly and its references resolve", { skip: dir ? false : "KFP .proto files not found: put them in ../shared/schemas/kfp or set COULER_SCHEMAS_DIR (see the shared schemas README)" }, () => {
    const root = kfpRoot(dir!);
    const problems: string[] = [];
    let accepted = 0;
    for (const { fixture, workflow } of fixtures) {
      const files = compileWith("kfp", workflow);
      if (!files) continue;
      accepted++;
      for (const f of files) {
        const docs = YAML.parseAllDocuments(f.content).map((d) => d.toJS());
        for (const p of checkKfpDocs(root, docs)) problems.push(`${fixture} ${f.path}: ${p}`);
        for (const p of referenceProblems(docs[0])) problems.push(`${fixture} ${f.path}: ${p}`);
        assert.equal(docs[0].schemaVersion, "2.1.0");
      }
    }
    assert.ok(accepted >= 15, `kfp accepts only ${accepted} fixtures`);
    assert.deepEqual(problems, []);
  });

  test("the strict check catches an unknown key, a wrong type and a bad enum", { skip: dir ? false : "KFP .proto files not found" }, () => {
    const root = kfpRoot(dir!);
    const texts = ["retry-timeout", "params-outputs"].map((n) => compileWith("kfp", fixtures.find((f) => f.fixture === `fixtures/${n}.ts`)!.workflow)![0]!.content);
    const edits: [string, string, RegExp][] = [
      ["maxRetryCount:", "maxRetries:", /no such field/],
      ["schemaVersion: 2.1.0", "schemaVersion: [2]", /not a string/],
      ["parameterType: STRING", "parameterType: TEXT", /not a ParameterTypeEnum/],
      ["activeDeadlineSeconds:", "activeDeadline:", /no such field/],
      ["image: alpine:3.20", "image: alpine:3.20\n        workingDir: /x", /no such field/],
    ];
    for (const [from, to, want] of edits) {
      const text = texts.find((t) => t.includes(from));
      assert.ok(text, from);
      const docs = YAML.parseAllDocuments(text.replace(from, to)).map((d) => d.toJS());
      const p = checkKfpDocs(root, docs);
      assert.ok(p.some((x) => want.test(x)), `${from} -> ${to}: ${JSON.stringify(p)}`);
    }
  });
});

describe("kfp: the wrapper script", () => {
  const sh = (script: string, args: string[]) => spawnSync("sh", ["-c", script, "couler", ...args], { encoding: "utf8" });
  test("keeps stdout without its final newline, the argv and the exit code", () => {
    const dir = mkdtempSync(join(tmpdir(), "couler-kfp-"));
    try {
      const res = join(dir, "res");
      const script = wrapperScript({ env: ["A"], stdout: true, outputs: [] });
      const r = sh(script, ["v a l", res, "sh", "-c", 'printf "%s|%s\\n\\n" "$A" "$1"', "x", "it's"]);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout, "v a l|it's\n\n");
      assert.equal(readFileSync(res, "utf8"), "v a l|it's\n");
      assert.equal(sh(script, ["", res, "sh", "-c", "exit 3"]).status, 3);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  test("runs a script source after the interpreter's words and copies output files", () => {
    const dir = mkdtempSync(join(tmpdir(), "couler-kfp-"));
    try {
      const o = join(dir, "o");
      const made = join(dir, "made");
      const script = wrapperScript({ source: { interpreterWords: 1 }, env: [], stdout: false, outputs: [made] });
      const r = sh(script, [`echo "$0 $1" > ${made}; echo ran`, o, "sh", "arg1"]);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout, "ran\n");
      assert.match(readFileSync(o, "utf8"), / arg1\n$/);
      writeFileSync(made, "");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  test("CEL string literals escape quotes, backslashes and controls", () => {
    assert.equal(celString("it's \\ \n\u0001"), "'it\\'s \\\\ \\n\\u0001'");
  });
});

describe("kfp: what the spec cannot say is refused at the user's line", () => {
  const errors = (wf: Workflow) =>
    compileWorkflow(wf, kfpBackend)
      .diagnostics.filter((d) => d.severity === "error")
      .map((d) => `${d.loc?.line ?? "?"}: ${d.message}`);
  const cases: [string, () => Workflow, RegExp][] = [
    ["literal placeholder text in args", () => workflow("w", () => void runContainer({ stepName: "a", image: "alpine", command: ["echo", "{{$.inputs.parameters['x']}}"] })), /contains `\{\{\$`/],
    ["literal {{$}} in a script source", () => workflow("w", () => void runScript({ stepName: "a", image: "python", source: "print('{{$}}')" })), /script source contains/],
    ["an IfPresent clause look-alike", () => workflow("w", () => void runContainer({ stepName: "a", image: "alpine", command: ["echo"], args: ['{"IfPresent": 1}'] })), /IfPresent/],
    [
      "a numeric comparison with text",
      () =>
        workflow("w", () => {
          const p = param("p", { default: "1" });
          when(bigger(p, "many"), () => runContainer({ stepName: "a", image: "alpine", command: ["true"] }));
        }),
      /numeric comparison needs a number/,
    ],
    ["a resource KFP has no field for", () => workflow("w", () => void runContainer({ stepName: "a", image: "alpine", command: ["true"], resources: { limits: { "ephemeral-storage": "1Gi" } } })), /ephemeral-storage/],
    ["a security context field kfp-kubernetes lacks", () => workflow("w", () => void runContainer({ stepName: "a", image: "alpine", command: ["true"], securityContext: { readOnlyRootFilesystem: true } })), /readOnlyRootFilesystem/],
    [
      "a parameter named like a step's stdout channel",
      () =>
        workflow("w", () => {
          const p = param("flip-Output", { default: "x" });
          const flip = runContainer({ stepName: "flip", image: "alpine", command: ["echo", "heads"] });
          runContainer({ stepName: "b", image: "alpine", command: ["echo", p, flip.result] });
        }),
      /both travel as KFP input "pipelinechannel--flip-Output"/,
    ],
    ["stdout kept from an image entrypoint", () => workflow("w", () => {
      const a = runContainer({ stepName: "a", image: "alpine" });
      runContainer({ stepName: "b", image: "alpine", command: ["echo", a.result] });
    }), /command spelled out/],
  ];
  for (const [what, build, want] of cases) {
    test(what, () => {
      const e = errors(build());
      assert.ok(e.some((m) => want.test(m) && /\(target kfp\)$/.test(m)), JSON.stringify(e));
      assert.ok(e.every((m) => !m.startsWith("?")), `every error is located: ${JSON.stringify(e)}`);
    });
  }
  test("conditions are CEL over the task's own inputs", () => {
    const wf = workflow("w", () => {
      const flip = runScript({ stepName: "flip", image: "python", source: "print('heads')" });
      when(equal(flip.result, "it's"), () => runContainer({ stepName: "a", image: "alpine", command: ["true"] }));
    });
    const r = compileWorkflow(wf, kfpBackend);
    assert.deepEqual(r.diagnostics, []);
    assert.match(r.files[0]!.content, /condition: inputs.parameter_values\['pipelinechannel--flip-Output'\] == 'it\\'s'/);
  });
});

describe("kfp: artifacts", () => {
  const wf = () =>
    workflow("arts", () => {
      const flag = param("go", { default: "yes" });
      const build = runContainer({ stepName: "build", image: "alpine", command: ["sh", "-c", "mkdir -p /out && echo hi > /out/a"], output: [createLocalArtifact("/out", { name: "bin" })] });
      when(equal(flag, "yes"), () => runContainer({ stepName: "use", image: "alpine", command: ["ls", "/in"], input: [{ from: build.artifact("bin"), path: "/in" }] }));
      const pack = when(equal(flag, "yes"), () => runContainer({ stepName: "pack", image: "alpine", command: ["true"], output: [createLocalArtifact("/p.tgz", { name: "tgz" })] }));
      void pack;
      runContainer({ stepName: "ship", image: "alpine", command: ["ls"], input: [{ from: { kind: "artifactRef", step: "pack", artifact: "tgz" } as never, path: "/ship/p.tgz" }] });
    });
  test("system.Artifact outputs and inputs, lifted into and exposed out of condition DAGs", { skip: kfpProtoDir() ? false : "KFP .proto files not found" }, () => {
    const r = compileWorkflow(wf(), kfpBackend);
    assert.deepEqual(r.diagnostics.filter((d) => d.severity === "error"), []);
    const docs = YAML.parseAllDocuments(r.files[0]!.content).map((d) => d.toJS());
    assert.deepEqual(checkKfpDocs(kfpRoot(kfpProtoDir()!), docs), []);
    assert.deepEqual(referenceProblems(docs[0]), []);
    const spec = docs[0];
    assert.deepEqual(spec.components["comp-build"].outputDefinitions.artifacts.bin, { artifactType: { schemaTitle: "system.Artifact", schemaVersion: "0.0.1" } });
    assert.deepEqual(spec.root.dag.tasks.use.inputs.artifacts["pipelinechannel--build--bin"], { taskOutputArtifact: { outputArtifactKey: "bin", producerTask: "build" } });
    assert.deepEqual(spec.components["comp-use--condition"].dag.tasks.use.inputs.artifacts.bin, { componentInputArtifact: "pipelinechannel--build--bin" });
    assert.deepEqual(spec.components["comp-pack--condition"].dag.outputs.artifacts["pipelinechannel--pack--tgz"], { artifactSelectors: [{ outputArtifactKey: "tgz", producerSubtask: "pack" }] });
    assert.deepEqual(spec.root.dag.tasks.ship.inputs.artifacts.tgz, { taskOutputArtifact: { outputArtifactKey: "pipelinechannel--pack--tgz", producerTask: "pack" } });
    const w = wf();
    assert.deepEqual(compareGraphs(w.ir, graphOfIR(w.ir), readKfp(r.files, w.ir), { conditionReads: true }), []);
  });
  test("the wrapper places input artifacts and keeps output artifacts", () => {
    const dir = mkdtempSync(join(tmpdir(), "couler-kfp-"));
    try {
      const src = join(dir, "src");
      const placed = join(dir, "placed");
      const kept = join(dir, "kept");
      spawnSync("sh", ["-c", `mkdir -p ${src}/sub && echo x > ${src}/sub/f`]);
      const script = wrapperScript({ env: [], stdout: false, outputs: [], artifactsOut: [placed], artifactsIn: [placed] });
      const r = spawnSync("sh", ["-c", script, "couler", kept, src, "sh", "-c", `echo y > ${placed}/new`], { encoding: "utf8" });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(readFileSync(join(kept, "sub", "f"), "utf8"), "x\n");
      assert.equal(readFileSync(join(kept, "new"), "utf8"), "y\n");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
