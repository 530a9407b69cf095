/**
 * Tekton backend: every golden document validates against the Tekton v1 schema and reads
 * the same in YAML 1.1 and 1.2; the mappings and refusals work on IR built by hand; the
 * escaping provably survives Tekton's and Kubernetes' substitutions; the wrapper script
 * really runs under sh.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import fc from "fast-check";
import YAML from "yaml";
import { kubeLiteral, shWord, tektonInert } from "../backends/tekton/escape.js";
import { shebang, tektonBackend } from "../backends/tekton/tekton-backend.js";
import { shCondition } from "../backends/tekton/condition-helpers.js";
import { conditionToWhen } from "../backends/tekton/when.js";
import { outcomeScript } from "../backends/tekton/status-deps.js";
import { wrapperScript } from "../backends/tekton/wrapper.js";
import { checkCapabilities } from "../src/compile.js";
import { DiagnosticBag } from "../src/diagnostics.js";
import type { Condition, Depends, Loc, Step, Value, WorkflowIR } from "../src/ir/types.js";
import { goldenDir, listFixtures, readTree } from "./helpers/golden.js";
import { repoPath } from "./helpers/paths.js";
import { errorsText, SCHEMAS_MISSING, tektonValidator } from "./helpers/schemas.js";

const loc: Loc = { file: "x.ts", line: 1, col: 1 };

function validateDocs(text: string, where: string): Record<string, unknown>[] {
  const docs11 = YAML.parseAllDocuments(text, { version: "1.1" }).map((d) => d.toJS());
  const docs12 = YAML.parseAllDocuments(text, { version: "1.2" }).map((d) => d.toJS());
  assert.deepEqual(docs11, docs12, `${where}: YAML 1.1 and 1.2 read differently`);
  for (const doc of docs12) {
    assert.equal(doc.apiVersion, "tekton.dev/v1", where);
    if (SCHEMAS_MISSING) continue;
    const v = tektonValidator(doc.kind);
    assert.ok(v(doc), `${where} (${doc.kind}): ${errorsText(v)}`);
  }
  return docs12;
}

// ---------------------------------------------------------------- goldens

const goldenRoots = readdirSync(repoPath("golden")).filter((d) => d === "tekton" || d.startsWith("tekton-"));

describe("tekton goldens", () => {
  if (SCHEMAS_MISSING) test("engine schema validation", { skip: SCHEMAS_MISSING }, () => {});
  const all = goldenRoots.flatMap((root) => [...readTree(repoPath("golden", root))].map(([p, t]) => [`${root}/${p}`, t] as const));
  const yamls = all.filter(([p]) => p.endsWith(".yaml"));
  test("there are Tekton goldens to check, in every layout", () => {
    assert.ok(yamls.length >= 15, `only ${yamls.length}`);
    assert.ok(goldenRoots.includes("tekton-separate"), "no golden/tekton-separate");
  });
  test("every fixture has a tekton golden (output or expected diagnostics)", () => {
    for (const root of goldenRoots) {
      for (const f of listFixtures()) {
        const dir = goldenDir(root, f);
        assert.ok(readTree(dir).size > 0, `no golden in ${dir}`);
      }
    }
  });
  for (const [path, text] of yamls) {
    test(`${path} validates against the Tekton v1 schema and reads the same under YAML 1.1 and 1.2`, () => {
      const docs = validateDocs(text, path);
      const kinds = docs.map((d) => d.kind as string);
      assert.ok(kinds.includes("Pipeline"), `${path}: no Pipeline`);
      // Tasks first, then the Pipeline, then the run.
      const order = kinds.map((k) => ["Task", "Pipeline", "PipelineRun"].indexOf(k));
      assert.deepEqual(order, [...order].sort(), `${path}: document order ${kinds.join(", ")}`);
    });
  }
});

// ---------------------------------------------------------------- compiling IR by hand

const c = (name: string, extra: Partial<Record<string, unknown>> = {}): Step =>
  ({ kind: "container", name, loc, image: "alpine:3.20", command: ["echo", name], ...extra }) as Step;
const on = (step: string, status: "ok" | "succeeded" | "failed" | "errored" | "skipped" | "omitted" | "any" = "ok"): Depends => ({ kind: "on", step, status });
const wfOf = (steps: Step[], extra: Partial<WorkflowIR> = {}): WorkflowIR => ({
  kind: "Workflow",
  irVersion: 1,
  name: "w",
  source: "x.ts",
  loc,
  config: {},
  params: [],
  steps,
  ...extra,
});

function compile(wf: WorkflowIR, options: Record<string, string> = {}) {
  const bag = new DiagnosticBag();
  for (const d of checkCapabilities(wf, tektonBackend)) bag.add(d);
  const opts: Record<string, string> = {};
  for (const [k, o] of Object.entries(tektonBackend.options)) if (o.default !== undefined) opts[k] = o.default;
  Object.assign(opts, options);
  const files = bag.hasErrors ? [] : tektonBackend.compile(wf, { diagnostics: bag, options: opts });
  const errors = bag.items.filter((d) => d.severity === "error").map((d) => d.message);
  // The Error-status note is on every workflow (asserted on its own below).
  const warnings = bag.items.filter((d) => d.severity === "warning" && d.code !== "error-status").map((d) => d.message);
  const text = files.map((f) => f.content).join("---\n");
  const docs = errors.length ? [] : validateDocs(text, "unit");
  const pipeline = docs.find((d) => d.kind === "Pipeline") as { spec: Record<string, any> } | undefined;
  return { files, errors, warnings, text, docs, pipeline, spec: pipeline?.spec };
}

const task = (spec: Record<string, any> | undefined, name: string): Record<string, any> =>
  [...(spec?.tasks ?? []), ...(spec?.finally ?? [])].find((t: { name: string }) => t.name === name);

describe("tekton backend: layout and options", () => {
  test("declares a decision for every feature", () => {
    for (const [f, s] of Object.entries(tektonBackend.capabilities)) assert.ok(s !== undefined, f);
  });
  test("embedded by default, with a PipelineRun that passes parameter defaults", () => {
    const r = compile(wfOf([c("a")], { params: [{ name: "day", default: "2024-01-01", loc }] }));
    assert.deepEqual(r.errors, []);
    assert.deepEqual(r.docs.map((d) => d.kind), ["Pipeline", "PipelineRun"]);
    assert.ok(task(r.spec, "a").taskSpec);
    const run = r.docs[1] as any;
    assert.deepEqual(run.spec.pipelineRef, { name: "w" });
    assert.deepEqual(run.spec.params, [{ name: "day", value: "2024-01-01" }]);
    assert.equal(run.metadata.generateName, "w-");
  });
  test("tasks=separate emits Task documents referenced by name", () => {
    const r = compile(wfOf([c("a"), c("b", { depends: on("a") })]), { tasks: "separate" });
    assert.deepEqual(r.docs.map((d) => d.kind), ["Task", "Task", "Pipeline", "PipelineRun"]);
    assert.deepEqual(task(r.spec, "b").taskRef, { name: "w-b" });
    assert.deepEqual(task(r.spec, "b").runAfter, ["a"]);
  });
  test("pipelinerun=false drops the run and warns about settings that only a run holds", () => {
    const r = compile(wfOf([c("a")], { config: { serviceAccount: "sa", timeout: 60 } }), { pipelinerun: "false" });
    assert.deepEqual(r.docs.map((d) => d.kind), ["Pipeline"]);
    assert.match(r.warnings.join("\n"), /service account.*set them when you start/);
  });
  test("a reusable workflow is a Pipeline without a run", () => {
    const r = compile(wfOf([c("a")], { config: { reusable: true } }));
    assert.deepEqual(r.docs.map((d) => d.kind), ["Pipeline"]);
  });
  test("names become DNS-1123 labels; long names are cut with a hash; collisions are errors", () => {
    const long = `Step_${"x".repeat(80)}`;
    const r = compile(wfOf([c("Build_It"), c(long)]));
    assert.ok(task(r.spec, "build-it"));
    const names = (r.spec!.tasks as { name: string }[]).map((t) => t.name);
    assert.ok(names.every((n) => n.length <= 63 && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(n)), names.join(","));
    assert.deepEqual(compile(wfOf([c("Build_It"), c(long)])).text, r.text, "deterministic");
    const clash = compile(wfOf([c("load-a"), c("load_a")]));
    assert.match(clash.errors.join("\n"), /load-a/);
  });
  test("param and result names follow Tekton's rules even from odd step and output names", () => {
    const r = compile(
      wfOf([
        c("1st", { outputs: [{ name: "_out_", path: "/o", loc }] }),
        c("next", { depends: on("1st"), args: [{ kind: "output", step: "1st", output: "_out_" }] }),
      ]),
    );
    assert.deepEqual(r.errors, []);
    assert.deepEqual(task(r.spec, "1st").taskSpec.results.map((x: { name: string }) => x.name), ["out"]);
    assert.deepEqual(task(r.spec, "next").params, [{ name: "v-1st-_out_", value: "$(tasks.1st.results.out)" }]);
  });
  test("run settings go to the PipelineRun's taskRunTemplate and taskRunSpecs", () => {
    const r = compile(
      wfOf([c("gpu", { nodeSelector: { gpu: "yes" }, tolerations: [{ key: "k", operator: "Exists" }] })], {
        config: { serviceAccount: "runner", nodeSelector: { os: "linux" }, imagePullSecrets: ["reg"], timeout: 5400, dnsPolicy: "None" },
      }),
    );
    const run = r.docs.find((d) => d.kind === "PipelineRun") as any;
    assert.equal(run.spec.taskRunTemplate.serviceAccountName, "runner");
    assert.deepEqual(run.spec.taskRunTemplate.podTemplate.nodeSelector, { os: "linux" });
    assert.deepEqual(run.spec.taskRunTemplate.podTemplate.imagePullSecrets, [{ name: "reg" }]);
    assert.deepEqual(run.spec.timeouts, { pipeline: "1h30m" });
    assert.deepEqual(run.spec.taskRunSpecs, [{ pipelineTaskName: "gpu", podTemplate: { nodeSelector: { gpu: "yes" }, tolerations: [{ key: "k", operator: "Exists" }] } }]);
  });
  test("retries, timeouts, resources, secrets", () => {
    const r = compile(
      wfOf([
        c("a", {
          retry: { limit: 2, backoff: { duration: 5 } },
          timeout: 90,
          resources: { requests: { cpu: "1" } },
          secretEnv: [{ name: "TOKEN", secret: "api", key: "token" }],
        }),
      ]),
    );
    const t = task(r.spec, "a");
    assert.equal(t.retries, 2);
    assert.equal(t.timeout, "1m30s");
    assert.deepEqual(t.taskSpec.steps[0].computeResources, { requests: { cpu: "1" } });
    assert.deepEqual(t.taskSpec.steps[0].env, [{ name: "TOKEN", valueFrom: { secretKeyRef: { name: "api", key: "token" } } }]);
    assert.match(r.warnings.join("\n"), /backoff/);
  });
  test("volumes become workspaces bound in the run", () => {
    const r = compile(
      wfOf([c("a", { volumeMounts: [{ volume: "data", mountPath: "/data", subPath: "in", readOnly: true }] })], {
        config: { volumes: [{ name: "data", kind: "claim", size: "1Gi", accessModes: ["ReadWriteOnce"] }] },
      }),
    );
    const t = task(r.spec, "a");
    assert.deepEqual(r.spec!.workspaces, [{ name: "data" }]);
    assert.deepEqual(t.workspaces, [{ name: "data", workspace: "data", subPath: "in" }]);
    assert.deepEqual(t.taskSpec.workspaces, [{ name: "data", mountPath: "/data", readOnly: true }]);
    const run = r.docs.find((d) => d.kind === "PipelineRun") as any;
    assert.deepEqual(run.spec.workspaces[0].volumeClaimTemplate.spec.resources, { requests: { storage: "1Gi" } });
  });
  test("refuses what Tekton has no form for", () => {
    const r = compile(wfOf([c("a", { cache: { name: "c", key: "k" } })], { config: { cron: { schedule: "0 * * * *" } } }));
    assert.match(r.errors.join("\n"), /cron schedule/);
    assert.match(r.errors.join("\n"), /memoiz/);
    const w = compile(wfOf([{ kind: "while", name: "loop", loc, condition: { kind: "compare", op: "eq", left: "a", right: "a" }, body: [c("b")] } as Step]));
    assert.match(w.errors.join("\n"), /execWhile/);
  });
});

// ---------------------------------------------------------------- values and escaping

describe("tekton backend: values and escaping", () => {
  test("every value reaches the step as a Task param bound at pipeline level", () => {
    const r = compile(
      wfOf(
        [
          c("a", { outputs: [{ name: "out", path: "/tmp/out", loc }] }),
          c("b", {
            depends: on("a"),
            args: [{ kind: "concat", parts: ["x=", { kind: "output", step: "a", output: "out" }, " d=", { kind: "param", name: "day" }] }, { kind: "workflow", field: "name" }],
          }),
        ],
        { params: [{ name: "day", loc }] },
      ),
    );
    const b = task(r.spec, "b");
    assert.deepEqual(b.params, [
      { name: "a-out", value: "$(tasks.a.results.out)" },
      { name: "day", value: "$(params.day)" },
      { name: "workflow-name", value: "$(context.pipelineRun.name)" },
    ]);
    assert.deepEqual(b.taskSpec.steps[0].args, ["x=$(params.a-out) d=$(params.day)", "$(params.workflow-name)"]);
    const a = task(r.spec, "a");
    assert.deepEqual(a.taskSpec.results, [{ name: "out", description: "output out of step a" }]);
    assert.match(a.taskSpec.steps[0].script, /cp \/tmp\/out "\$\(results\.out\.path\)"/);
    assert.deepEqual(a.taskSpec.steps[0].args, ["echo", "a"]);
  });
  test("a literal with $( or $$ is escaped through an env var that holds $", () => {
    const r = compile(wfOf([c("a", { command: ["sh", "-c", "echo $(params.x) $$ $((1+1)) $HOME"], env: [{ name: "E", value: "$(context.taskRun.name)" }] })]));
    const step = task(r.spec, "a").taskSpec.steps[0];
    assert.equal(step.command[2], "echo $(COULER_DOLLAR)(params.x) $(COULER_DOLLAR)$ $(COULER_DOLLAR)((1+1)) $HOME");
    assert.deepEqual(step.env[0], { name: "COULER_DOLLAR", value: "$" });
    assert.equal(step.env[1].value, "$(COULER_DOLLAR)(context.taskRun.name)");
    assert.ok(!/\$\((params|context)\./.test(r.text));
  });
  test("escaped literals survive Tekton's substitution passes and Kubernetes expansion, for any text", () => {
    // Kubernetes' expansion (k8s.io/kubernetes third_party/forked/golang/expansion), re-stated.
    const kubeExpand = (s: string, env: Record<string, string>) => {
      let out = "";
      for (let i = 0; i < s.length; i++) {
        if (s[i] !== "$" || i + 1 >= s.length) {
          out += s[i];
          continue;
        }
        const n = s[i + 1];
        if (n === "$") {
          out += "$";
          i++;
        } else if (n === "(") {
          const close = s.indexOf(")", i + 2);
          if (close < 0) {
            out += "$(";
            i++;
          } else {
            const name = s.slice(i + 2, close);
            out += name in env ? env[name] : `$(${name})`;
            i = close;
          }
        } else {
          out += `$${n}`;
          i++;
        }
      }
      return out;
    };
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom("$", "(", ")", "a", ".", "[", "p", " ", "$(params.x)", "$(context.taskRun.name)") }), (s) => {
        const written = kubeLiteral(s, true);
        assert.ok(tektonInert(written.replaceAll("$(COULER_DOLLAR)", "")), written);
        assert.equal(kubeExpand(written, { COULER_DOLLAR: "$", HOME: "/root", x: "X" }), s);
      }),
      { numRuns: 500 },
    );
  });
  test("shell words never hold $( and mean exactly their text", () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom("$", "(", ")", "'", '"', "\\", "a", " ", "\n", "`", "*") }), (s) => {
        assert.ok(!shWord(s).includes("$("), shWord(s));
      }),
    );
    if (!existsSync("/bin/sh")) return;
    for (const s of ["plain", "it's $(params.x) `date` \"q\" \\ *", "$$ $1 ${x}\nline"]) {
      const r = spawnSync("/bin/sh", ["-c", `printf '%s' ${shWord(s)}`], { encoding: "utf8" });
      assert.equal(r.stdout, s);
    }
  });
  test("literals in when expressions, images and paths must hold no Tekton variable", () => {
    const r = compile(wfOf([c("a", { when: { kind: "compare", op: "eq", left: "$(params.x)", right: "y" } }), c("b", { workingDir: "/w/$(context.taskRun.name)" })]));
    assert.equal(r.errors.length, 2, r.errors.join("\n"));
    const ok = compile(wfOf([c("a", { when: { kind: "compare", op: "eq", left: "$(date)", right: "y" } })]));
    assert.deepEqual(ok.errors, []);
  });
  test("a parameter default with $( is refused: Tekton and Kubernetes rewrite parameter values", () => {
    const r = compile(wfOf([c("a", { args: [{ kind: "param", name: "p" }] })], { params: [{ name: "p", default: "$(context.taskRun.name)", loc }] }));
    assert.match(r.errors.join("\n"), /parameter "p" has a default/);
  });
});

// ---------------------------------------------------------------- conditions and dependencies

const eq = (left: Condition["kind"] extends string ? any : never, right: any, op = "eq"): Condition => ({ kind: "compare", op, left, right }) as Condition;
const p = (name: string) => ({ kind: "param" as const, name });

describe("tekton backend: when and finally", () => {
  const whenOf = (cond: Condition) => {
    const r = compile(wfOf([c("a", { when: cond })], { params: [{ name: "x", default: "1", loc }, { name: "y", default: "2", loc }] }));
    return { ...r, when: task(r.spec, "a")?.when };
  };
  test("eq, ne, and, not and or on one input", () => {
    assert.deepEqual(whenOf(eq(p("x"), "a")).when, [{ input: "$(params.x)", operator: "in", values: ["a"] }]);
    assert.deepEqual(whenOf({ kind: "not", of: eq(p("x"), "a") }).when, [{ input: "$(params.x)", operator: "notin", values: ["a"] }]);
    assert.deepEqual(whenOf({ kind: "and", of: [eq(p("x"), "a"), eq(p("y"), "b", "ne")] }).when, [
      { input: "$(params.x)", operator: "in", values: ["a"] },
      { input: "$(params.y)", operator: "notin", values: ["b"] },
    ]);
    assert.deepEqual(whenOf({ kind: "or", of: [eq(p("x"), "a"), { kind: "not", of: eq(p("x"), "b", "ne") }] }).when, [
      { input: "$(params.x)", operator: "in", values: ["a", "b"] },
    ]);
    // not (x == a or x == b)  ==  x notin [a, b]
    assert.deepEqual(whenOf({ kind: "not", of: { kind: "or", of: [eq(p("x"), "a"), eq(p("x"), "b")] } }).when, [
      { input: "$(params.x)", operator: "notin", values: ["a"] },
      { input: "$(params.x)", operator: "notin", values: ["b"] },
    ]);
  });
  test("numeric comparisons and or across values have no when form: a helper step evaluates them", () => {
    const same = (x: unknown) => ({ ok: true as const, value: x as never });
    assert.match(JSON.stringify(conditionToWhen(eq(p("x"), "1", "gt"), same, same)), /numeric comparison \(gt\)/);
    assert.match(JSON.stringify(conditionToWhen({ kind: "or", of: [eq(p("x"), "a"), eq(p("y"), "b")] }, (v) => same(JSON.stringify(v)), same)), /or of conditions on different values/);
    const r = whenOf({ kind: "or", of: [eq(p("x"), "1", "gt"), eq(p("y"), "b")] });
    assert.deepEqual(r.errors, []);
    assert.deepEqual(r.when, [{ input: "$(tasks.a-when.results.result)", operator: "in", values: ["true"] }]);
    const helper = task(r.spec, "a-when");
    assert.equal(helper.taskSpec.steps[0].image, "busybox:1.36");
    assert.deepEqual(
      helper.taskSpec.steps[0].env.map((e: { name: string; value: string }) => [e.name, e.value]),
      [["COULER_V0", "$(params.x)"], ["COULER_V1", "1"], ["COULER_V2", "$(params.y)"], ["COULER_V3", "b"]],
    );
    assert.deepEqual(task(r.spec, "a").runAfter, ["a-when"]);
    assert.deepEqual(r.warnings, [], "a helper's stdout needs no size warning");
    const img = compile(wfOf([c("a", { when: eq(p("x"), "1", "lt") })], { params: [{ name: "x", loc }] }), { "condition-image": "alpine:3.20" });
    assert.equal(task(img.spec, "a-when").taskSpec.steps[0].image, "alpine:3.20");
  });
  test("the helper's shell test means what the condition means", { skip: !existsSync("/bin/sh") }, () => {
    const x = { kind: "param" as const, name: "x" };
    for (const [cond, truth] of [
      [eq(x, "10", "gt"), (v: number) => v > 10],
      [eq(x, "10", "le"), (v: number) => v <= 10],
      [{ kind: "not", of: eq(x, "2.5", "ge") }, (v: number) => !(v >= 2.5)],
      [{ kind: "or", of: [eq(x, "3", "eq"), eq(x, "1", "lt")] }, (v: number) => v === 3 || v < 1],
      [{ kind: "and", of: [eq(x, "0", "gt"), eq(x, "4", "ne")] }, (v: number) => v > 0 && v !== 4],
    ] as [Condition, (v: number) => boolean][]) {
      for (const v of [-1, 0, 0.5, 2.5, 3, 4, 10, 11]) {
        const values: Value[] = [];
        const test = shCondition(cond, values);
        const env: Record<string, string> = { PATH: process.env.PATH ?? "/usr/bin:/bin" };
        values.forEach((val, i) => (env[`COULER_V${i}`] = val === x ? String(v) : (val as string)));
        const r = spawnSync("/bin/sh", ["-c", `if ${test}; then echo true; else echo false; fi`], { env, encoding: "utf8" });
        assert.equal(r.stdout.trim(), String(truth(v)), `${JSON.stringify(cond)} at ${v}`);
      }
    }
  });
  test("a condition on a fan-out item that needs a helper is refused", () => {
    const r = compile(wfOf([c("a", { loop: { kind: "items", items: [["1"]] }, when: eq({ kind: "item" }, "1", "gt") })]));
    assert.match(r.errors.join("\n"), /numeric comparison/);
  });
  const outcome = (t: string, operator: "in" | "notin", values: string[]) => ({ input: `$(tasks.${t}.results.couler-outcome)`, operator, values });
  test("a dependency on failure or any outcome reads the observed step's couler-outcome result", () => {
    const r = compile(
      wfOf([
        c("a"),
        c("on-fail", { depends: on("a", "failed") }),
        c("on-ok", { depends: on("a", "succeeded") }),
        c("always", { depends: { kind: "or", of: [on("a", "succeeded"), on("a", "failed"), on("a", "errored")] } }),
        c("after", { depends: on("a") }),
        c("after-fail", { depends: on("on-fail") }),
        c("if-omitted", { depends: on("after", "omitted") }),
      ]),
    );
    assert.deepEqual(r.errors, []);
    assert.deepEqual(r.spec!.finally, undefined, "no finally task");
    const a = task(r.spec, "a");
    assert.equal(a.taskSpec.steps[0].onError, "continue");
    assert.equal(a.taskSpec.steps[1].name, "couler-outcome");
    assert.deepEqual(a.taskSpec.results, [{ name: "couler-outcome", description: "outcome of step a: Succeeded or Failed" }]);
    assert.deepEqual(task(r.spec, "on-fail").when, [outcome("a", "in", ["Failed"])]);
    assert.deepEqual(task(r.spec, "on-ok").when, [outcome("a", "in", ["Succeeded"])]);
    assert.deepEqual(task(r.spec, "always").when, [outcome("a", "in", ["Succeeded", "Failed"])]);
    // a bare dependency on a step whose failure is handled: not after its failure
    assert.deepEqual(task(r.spec, "after").when, [outcome("a", "notin", ["Failed"])]);
    // guards travel down plain edges, so a step after an omitted one is omitted too
    assert.deepEqual(task(r.spec, "after-fail").when, [outcome("a", "in", ["Failed"])]);
    assert.deepEqual(task(r.spec, "if-omitted").when, [outcome("a", "in", ["Failed"])]);
    assert.deepEqual(task(r.spec, "if-omitted").runAfter, ["after"]);
  });
  test("the outcome step re-fails the TaskRun while retries are left, or when no step handles the failure", () => {
    assert.match(outcomeScript(true, 2), /retry-count\)" -lt 2 \]; then exit "\$code"/);
    assert.doesNotMatch(outcomeScript(false, 0), /printf Failed/);
    assert.match(outcomeScript(false, 0), /exit "\$code"/);
  });
  test("succeeded after a step that may be skipped reads its outcome", () => {
    const r = compile(wfOf([c("a", { when: eq("x", "y") }), c("b", { depends: on("a", "succeeded") })]));
    assert.deepEqual(task(r.spec, "b").when, [outcome("a", "in", ["Succeeded"])]);
    // and after a step that can neither be skipped nor continue after failing it is the plain edge
    const plain = compile(wfOf([c("a"), c("b", { depends: on("a", "succeeded") })]));
    assert.deepEqual(task(plain.spec, "b").when, undefined);
    assert.deepEqual(task(plain.spec, "b").runAfter, ["a"]);
  });
  test("skipped-or-omitted waits in finally on $(tasks.X.status) None", () => {
    const r = compile(wfOf([c("a"), c("after-skip", { depends: { kind: "or", of: [on("a", "skipped"), on("a", "omitted")] } })]));
    assert.deepEqual(task(r.spec, "after-skip").when, [{ input: "$(tasks.a.status)", operator: "in", values: ["None"] }]);
    assert.ok((r.spec!.finally as { name: string }[]).some((t) => t.name === "after-skip"));
  });
  test("statuses Tekton cannot tell apart, and waiting for a finally task, are refused", () => {
    assert.match(compile(wfOf([c("a"), c("b", { depends: on("a", "errored") })])).errors.join("\n"), /Errored.*reports errors as Failed/);
    assert.match(compile(wfOf([c("a"), c("b", { depends: on("a", "skipped") })])).errors.join("\n"), /Skipped" alone/);
    assert.match(
      compile(wfOf([c("a"), c("b"), c("x", { depends: { kind: "or", of: [on("a", "failed"), on("b", "failed")] } })])).errors.join("\n"),
      /or across several steps/,
    );
    const fin = { kind: "or" as const, of: [on("a", "skipped"), on("a", "omitted")] };
    assert.match(compile(wfOf([c("a"), c("b", { depends: fin }), c("d", { depends: on("b") })])).errors.join("\n"), /cannot order anything after a finally task/);
  });
  test("every workflow names the missing Error status", () => {
    const bag = new DiagnosticBag();
    tektonBackend.compile(wfOf([c("a")]), { diagnostics: bag, options: {} });
    assert.ok(bag.items.some((d) => d.code === "error-status" && /Tekton has no Error status/.test(d.message)));
  });
  test("exit handlers are finally tasks reading $(tasks.status)", () => {
    const r = compile(
      wfOf([c("a")], {
        onExit: [
          c("ok", { when: eq({ kind: "workflow", field: "status" }, "Succeeded") }),
          c("bad", { when: eq({ kind: "workflow", field: "status" }, "Failed", "ne") }),
        ],
      }),
    );
    assert.deepEqual(task(r.spec, "ok").when, [{ input: "$(tasks.status)", operator: "in", values: ["Succeeded", "Completed"] }]);
    assert.deepEqual(task(r.spec, "bad").when, [{ input: "$(tasks.status)", operator: "notin", values: ["Failed"] }]);
    const err = compile(wfOf([c("a")], { onExit: [c("e", { when: eq({ kind: "workflow", field: "status" }, "Error") })] }));
    assert.match(err.errors.join("\n"), /"Error" has no Tekton counterpart/);
  });
  test("the workflow status inside other text in a condition is refused (a when sees Tekton's raw Completed)", () => {
    const status = { kind: "workflow", field: "status" } as const;
    const inText = compile(wfOf([c("a")], { onExit: [c("e", { when: eq({ kind: "concat", parts: ["s=", status] }, "s=Succeeded") })] }));
    assert.match(inText.errors.join("\n"), /compared whole with a literal status/);
    const clash = compile(wfOf([c("a")], { onExit: [c("e", { args: [status], env: [{ name: "COULER_STATUS_Completed", value: "x" }] })] }));
    assert.match(clash.errors.join("\n"), /defines env var COULER_STATUS_Completed/);
  });
  test("a sequential exit handler runs as the steps of one finally Task", () => {
    const failed = eq({ kind: "workflow", field: "status" }, "Failed");
    const r = compile(
      wfOf([c("a")], {
        onExit: [c("x", { when: failed }), c("y", { when: failed, depends: on("x"), timeout: 30 }), c("z", { when: failed, depends: on("y") })],
      }),
    );
    assert.deepEqual(r.errors, []);
    assert.equal(r.spec!.finally.length, 1);
    const t = r.spec!.finally[0];
    assert.equal(t.name, "x");
    assert.deepEqual(t.when, [{ input: "$(tasks.status)", operator: "in", values: ["Failed"] }]);
    assert.deepEqual(t.taskSpec.steps.map((s: { name: string }) => s.name), ["x", "y", "z"]);
    assert.equal(t.taskSpec.steps[1].timeout, "30s");
    const branchy = compile(wfOf([c("a")], { onExit: [c("x"), c("y", { depends: on("x") }), c("z", { depends: on("x") })] }));
    assert.match(branchy.errors.join("\n"), /not a plain sequence/);
    const ownWhen = compile(wfOf([c("a")], { onExit: [c("x"), c("y", { depends: on("x"), when: failed })] }));
    assert.match(ownWhen.errors.join("\n"), /cannot have a condition of its own/);
  });
});

describe("tekton backend: artifacts", () => {
  test("an artifact passes through the per-run artifacts workspace", () => {
    const r = compile(
      wfOf([
        c("build", { command: ["make"], outputArtifacts: [{ name: "bin", path: "/out", loc }] }),
        c("test", { depends: on("build"), command: ["/opt/bin/app"], inputArtifacts: [{ name: "bin", path: "/opt/bin", from: { kind: "step", step: "build", artifact: "bin" }, loc }] }),
      ]),
      { "artifact-size": "5Gi" },
    );
    assert.deepEqual(r.errors, []);
    assert.deepEqual(r.spec!.workspaces, [{ name: "couler-artifacts" }]);
    for (const name of ["build", "test"]) {
      const t = task(r.spec, name);
      assert.deepEqual(t.workspaces, [{ name: "couler-artifacts", workspace: "couler-artifacts" }]);
      assert.deepEqual(t.taskSpec.workspaces, [{ name: "couler-artifacts" }]);
    }
    assert.match(task(r.spec, "build").taskSpec.steps[0].script, /cp -R \/out "\$\(workspaces\.couler-artifacts\.path\)"\/build\/bin/);
    const run = r.docs.find((d) => d.kind === "PipelineRun") as any;
    assert.deepEqual(run.spec.workspaces, [
      { name: "couler-artifacts", volumeClaimTemplate: { spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "5Gi" } } } } },
    ]);
    assert.match(r.warnings.join("\n"), /kept on the run's own volume/);
    const looped = compile(wfOf([c("b", { loop: { kind: "items", items: [["1"]] }, outputArtifacts: [{ name: "x", path: "/x", loc }] })]));
    assert.match(looped.errors.join("\n"), /fans out and keeps an artifact/);
  });
  test("the wrappers copy a folder and a file artifact through the workspace", { skip: !existsSync("/bin/sh") }, () => {
    const root = mkdtempSync(join(tmpdir(), "couler-art-"));
    try {
      const ws = join(root, "ws");
      const run = (script: string, args: string[]) => {
        const file = join(root, "script");
        writeFileSync(file, script.replaceAll("$(workspaces.couler-artifacts.path)", ws), { mode: 0o755 });
        return spawnSync(file, args, { encoding: "utf8" });
      };
      const out = join(root, "out dir");
      const produce = wrapperScript({ outputs: [], artifacts: { workspace: "$(workspaces.couler-artifacts.path)", inputs: [], outputs: [{ path: out, to: "build/bin" }, { path: join(out, "app"), to: "build/one" }] } });
      const p1 = run(produce, ["/bin/sh", "-c", 'mkdir -p "$1" && echo hi > "$1/app"', "sh", out]);
      assert.equal(p1.status, 0, p1.stderr);
      const into = join(root, "in", "place");
      const consume = wrapperScript({ outputs: [], artifacts: { workspace: "$(workspaces.couler-artifacts.path)", inputs: [{ from: "build/bin", path: into }, { from: "build/one", path: join(root, "f", "app.txt") }], outputs: [] } });
      const p2 = run(consume, ["/bin/sh", "-c", 'cat "$1/app" "$2"', "sh", into, join(root, "f", "app.txt")]);
      assert.equal(p2.status, 0, p2.stderr);
      assert.equal(p2.stdout, "hi\nhi\n");
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

// ---------------------------------------------------------------- fan-out

describe("tekton backend: matrix", () => {
  test("static items: one list as matrix params, zipped lists as explicit combinations", () => {
    const r = compile(
      wfOf([
        c("one", { command: ["echo", { kind: "item" }], loop: { kind: "items", items: [["1"], ["2"]] } }),
        c("two", { command: ["echo", { kind: "item", index: 0 }, { kind: "item", index: 1 }], loop: { kind: "items", items: [["a", "x"], ["b", "$(y)"]] } }),
      ]),
    );
    assert.deepEqual(task(r.spec, "one").matrix, { params: [{ name: "item", value: ["1", "2"] }] });
    assert.deepEqual(task(r.spec, "one").taskSpec.steps[0].command, ["echo", "$(params.item)"]);
    const two = task(r.spec, "two");
    assert.deepEqual(two.matrix.include[1], { name: "row-1", params: [{ name: "item-0", value: "b" }, { name: "item-1", value: "$(COULER_DOLLAR)(y)" }] });
    assert.deepEqual(two.taskSpec.params, [{ name: "item-0", type: "string" }, { name: "item-1", type: "string" }]);
    assert.equal(two.taskSpec.steps[0].env[0].name, "COULER_DOLLAR");
  });
  test("more items than the matrix limit are refused", () => {
    const items = Array.from({ length: 257 }, (_, i) => [String(i)]);
    assert.match(compile(wfOf([c("a", { loop: { kind: "items", items } })])).errors.join("\n"), /257 items, more than Tekton's matrix limit of 256/);
    assert.deepEqual(compile(wfOf([c("a", { loop: { kind: "items", items } })]), { "max-matrix": "1024" }).errors, []);
  });
  test("fan-out over a step's output: the producer's result is an array", () => {
    const r = compile(
      wfOf([
        c("list", { outputs: [{ name: "names", path: "/tmp/names", loc }] }),
        c("each", { depends: on("list"), command: ["echo", { kind: "item" }], loop: { kind: "from", source: { kind: "output", step: "list", output: "names" } } }),
      ]),
    );
    assert.deepEqual(r.errors, []);
    assert.deepEqual(task(r.spec, "list").taskSpec.results, [{ name: "names", description: "output names of step list", type: "array" }]);
    assert.deepEqual(task(r.spec, "each").matrix, { params: [{ name: "item", value: "$(tasks.list.results.names[*])" }] });
  });
  test("fan-out over a parameter makes it an array parameter", () => {
    const r = compile(wfOf([c("each", { loop: { kind: "from", source: p("xs") } })], { params: [{ name: "xs", default: '["a","b"]', loc }] }));
    assert.deepEqual(r.spec!.params, [{ name: "xs", type: "array", default: ["a", "b"] }]);
    const bad = compile(wfOf([c("each", { loop: { kind: "from", source: p("xs") } })], { params: [{ name: "xs", default: "[1,2]", loc }] }));
    assert.match(bad.errors.join("\n"), /JSON list of strings/);
  });
  test("fan-in as a whole argument is rebuilt as JSON list text; inside other text it is refused", () => {
    const sq = c("sq", { loop: { kind: "items", items: [["1"], ["2"]] } });
    const r = compile(wfOf([sq, c("sum", { depends: on("sq"), command: ["echo"], args: ["n", { kind: "result", step: "sq" }] })]));
    assert.deepEqual(r.errors, []);
    const sum = task(r.spec, "sum");
    assert.deepEqual(sum.params, [{ name: "sq-result", value: "$(tasks.sq.results.result[*])" }]);
    assert.deepEqual(sum.taskSpec.params, [{ name: "sq-result", type: "array" }]);
    assert.deepEqual(sum.taskSpec.steps[0].args, ["echo", "n", "", "$(params.sq-result[*])"]);
    assert.match(r.warnings.join("\n"), /gathered outputs of fan-out "sq"/);
    const inText = compile(wfOf([sq, c("sum", { depends: on("sq"), args: [{ kind: "concat", parts: ["all=", { kind: "result", step: "sq" }] }] })]));
    assert.match(inText.errors.join("\n"), /gathers a matrix task's results only as an array/);
    const again = compile(wfOf([sq, c("again", { depends: on("sq"), loop: { kind: "from", source: { kind: "result", step: "sq" } } })]));
    assert.deepEqual(again.errors, []);
    assert.deepEqual(task(again.spec, "again").matrix, { params: [{ name: "item", value: "$(tasks.sq.results.result[*])" }] });
    assert.ok(!("type" in task(again.spec, "sq").taskSpec.results[0]), "a matrix task's result stays a string");
    const obj = compile(
      wfOf([c("l"), c("e", { depends: on("l"), command: ["echo", { kind: "item", field: "id" }], loop: { kind: "from", source: { kind: "result", step: "l" } } })]),
    );
    assert.match(obj.errors.join("\n"), /field "id" of a run-time item/);
  });
});

// ---------------------------------------------------------------- scripts and the wrapper

describe("tekton backend: scripts and the wrapper", () => {
  test("a script with a one-word interpreter runs from a shebang line", () => {
    assert.equal(shebang(["python"], "print(1)"), "#!/usr/bin/env python");
    assert.equal(shebang(["/usr/bin/python3", "-u"], "x"), "#!/usr/bin/python3 -u");
    assert.equal(shebang(["python", "-u"], "x"), undefined);
    assert.equal(shebang(["python"], "print('$(params.x)')"), undefined);
    const r = compile(wfOf([{ kind: "script", name: "s", loc, image: "python:3", command: ["python"], source: "print(1)", args: ["a b"] } as Step]));
    const step = task(r.spec, "s").taskSpec.steps[0];
    assert.equal(step.script, "#!/usr/bin/env python\nprint(1)");
    assert.deepEqual(step.args, ["a b"]);
    assert.equal(step.command, undefined);
  });
  test("script text with Tekton variable syntax is written without a $( Tekton could see", () => {
    const source = "echo '$(params.secret)' \"$(context.taskRun.name)\"\n";
    const r = compile(wfOf([{ kind: "script", name: "s", loc, image: "alpine", command: ["sh"], source } as Step]));
    const script = task(r.spec, "s").taskSpec.steps[0].script as string;
    assert.ok(tektonInert(script), script);
  });

  const sh = existsSync("/bin/sh");
  /** Run a wrapper the way Tekton would: results paths substituted, args after the script. */
  const runWrapper = (script: string, args: string[], results: string[]) => {
    const dir = mkdtempSync(join(tmpdir(), "couler-tekton-"));
    try {
      let text = script;
      for (const r of results) text = text.replaceAll(`$(results.${r}.path)`, join(dir, r));
      assert.ok(!/\$\((results|params|context)\./.test(text), "an unsubstituted Tekton variable is left");
      const file = join(dir, "script");
      writeFileSync(file, text);
      chmodSync(file, 0o755);
      const p = spawnSync(file, args, { encoding: "utf8", cwd: dir });
      const read = (r: string) => (existsSync(join(dir, r)) ? readFileSync(join(dir, r), "utf8") : undefined);
      return { code: p.status, stdout: p.stdout, stderr: p.stderr, result: Object.fromEntries(results.map((r) => [r, read(r)])), dir };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };

  test("the wrapper tees stdout into a result without its final newline, keeps argv and the exit code", { skip: !sh }, () => {
    const script = wrapperScript({ stdoutResult: "result", outputs: [] });
    const ok = runWrapper(script, ["/bin/sh", "-c", 'printf "%s|" "$@"; echo; echo end', "sh", "a b", "$(x)", "'q'"], ["result"]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout, "a b|$(x)|'q'|\nend\n");
    assert.equal(ok.result.result, "a b|$(x)|'q'|\nend");
    const bad = runWrapper(script, ["/bin/sh", "-c", "echo partial; exit 7"], ["result"]);
    assert.equal(bad.code, 7);
    assert.equal(bad.stdout, "partial\n");
  });
  test("the wrapper copies output files into results after the program succeeds", { skip: !sh }, () => {
    const dir = mkdtempSync(join(tmpdir(), "couler-out-"));
    try {
      const out = join(dir, "it's $(x).txt");
      const script = wrapperScript({ outputs: [{ path: out, result: "acc" }] });
      const r = runWrapper(script, ["/bin/sh", "-c", 'printf 0.93 > "$1"', "sh", out], ["acc"]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.result.acc, "0.93");
      const missing = runWrapper(wrapperScript({ outputs: [{ path: join(dir, "nope"), result: "acc" }] }), ["true"], ["acc"]);
      assert.equal(missing.code, 1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  test("the wrapper runs a script source with its declared interpreter and arguments", { skip: !sh }, () => {
    const source = "echo \"args=$*\"\necho '$(params.keep)'\n";
    const script = wrapperScript({ source: { text: source, interpreter: ["sh"] }, stdoutResult: "result", outputs: [] });
    assert.ok(tektonInert(script.replace(/\$\(results\.result\.path\)/g, "")));
    const r = runWrapper(script, ["one", "two"], ["result"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /args=one two\n\$\(params\.keep\)\n$/);
    assert.match(r.result.result ?? "", /\$\(params\.keep\)$/);
  });
  test("the wrapper turns a gathered list into JSON text at its place in argv", { skip: !sh }, () => {
    const script = wrapperScript({ fanIn: { words: 6, positions: [5] }, stdoutResult: "result", outputs: [] });
    const r = runWrapper(script, ["/bin/sh", "-c", 'printf "%s|" "$@"', "sh", "x y", "", 'a"b', "c\\d", "e\nf", "$(t)"], ["result"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'x y|' + JSON.stringify(['a"b', "c\\d", "e\nf", "$(t)"]) + "|");
    assert.deepEqual(JSON.parse(r.stdout.split("|")[1]!), ['a"b', "c\\d", "e\nf", "$(t)"]);
  });
});

