/**
 * Every GitHub golden passes GitHub's own workflow parser with zero errors and the
 * SchemaStore workflow schema; plus unit tests for the mappings, `${{` neutralisation,
 * the output delimiter and refusals, on IR built by hand.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import YAML from "yaml";
import { expressionLength, githubBackend, githubSecretName } from "../backends/github/github-backend.js";
import { shortestCronGap } from "../backends/github/cron.js";
import { stringLiteral, templateText } from "../backends/github/expressions.js";
import { EMIT_HEX_FN, EMIT_OUTPUT_FN, heredocDelimiter, plainWord } from "../backends/github/shell.js";
import { checkCapabilities } from "../src/compile.js";
import { DiagnosticBag } from "../src/diagnostics.js";
import type { Step, WorkflowIR } from "../src/ir/types.js";
import { readTree } from "./helpers/golden.js";
import { parseGithubWorkflows, type ParsedWorkflow } from "./helpers/github-parser.js";
import { repoPath } from "./helpers/paths.js";
import { errorsText, githubValidator, SCHEMAS_MISSING } from "./helpers/schemas.js";

const goldens = ["github", "github-options"].flatMap((dir) =>
  [...readTree(repoPath("golden", dir))].filter(([p]) => p.endsWith(".yml")).map(([p, text]) => ({ name: `${dir}/${p}`, content: text })),
);

const loc = { file: "x.ts", line: 1, col: 1 };

function workflow(steps: Step[], extra: Partial<WorkflowIR> = {}): WorkflowIR {
  return { kind: "Workflow", irVersion: 1, name: "w", source: "x.ts", loc, config: {}, params: [], steps, ...extra };
}

function container(name: string, more: Record<string, unknown> = {}): Step {
  return { kind: "container", name, loc, image: "alpine:3.20", command: ["echo", name], ...more } as Step;
}

function compile(wf: WorkflowIR, options: Record<string, string> = {}) {
  const diagnostics = new DiagnosticBag();
  const opts = { "runs-on": "ubuntu-latest", permissions: "contents:read", "cancel-in-progress": "false", compare: "text", ...options };
  const files = githubBackend.compile(wf, { diagnostics, options: opts });
  const doc = files.length ? (YAML.parse(files[0]!.content) as Record<string, any>) : undefined;
  return { files, doc, diagnostics: diagnostics.items, text: files[0]?.content ?? "" };
}

describe("github goldens", () => {
  if (SCHEMAS_MISSING) test("engine schema validation", { skip: SCHEMAS_MISSING }, () => {});
  let parsed: ParsedWorkflow[] = [];
  before(async () => {
    parsed = await parseGithubWorkflows(goldens);
  });
  test("there are GitHub goldens to check", () => assert.ok(goldens.length >= 15, `only ${goldens.length}`));
  test("every golden passes GitHub's workflow parser with zero errors", () => {
    assert.equal(parsed.length, goldens.length);
    for (const p of parsed) assert.deepEqual(p.errors, [], p.name);
  });
  for (const g of goldens) {
    test(`${g.name} validates against the GitHub workflow schema and reads the same under YAML 1.1 and 1.2`, () => {
      const doc11 = YAML.parse(g.content, { version: "1.1" });
      const doc12 = YAML.parse(g.content, { version: "1.2" });
      assert.deepEqual(doc11, doc12);
      if (SCHEMAS_MISSING) return;
      const v = githubValidator();
      assert.ok(v(doc12), `${g.name}: ${errorsText(v)}`);
    });
  }
});

describe("github backend: mappings", () => {
  test("declares a decision for every feature", () => {
    for (const [f, s] of Object.entries(githubBackend.capabilities)) assert.ok(s !== undefined, f);
  });

  test("job ids are mangled deterministically and collisions are errors", () => {
    const { doc } = compile(workflow([container("9 lives"), container("a.b")]));
    assert.deepEqual(Object.keys(doc!.jobs), ["_9_lives", "a_b"]);
    assert.equal(doc!.jobs._9_lives.name, "9 lives");
    const clash = compile(workflow([container("a.b"), container("a b")]));
    assert.ok(clash.diagnostics.some((d) => d.code === "name-collision"));
  });

  test("secret names: SECRET_KEY in upper case; GitHub-reserved prefixes get a leading _", () => {
    assert.equal(githubSecretName("db-credentials", "password"), "DB_CREDENTIALS_PASSWORD");
    assert.equal(githubSecretName("github", "token"), "_GITHUB_TOKEN");
    assert.equal(githubSecretName("1st", "k.ey"), "_1ST_K_EY");
    const { doc } = compile(workflow([container("a", { secretEnv: [{ name: "PW", secret: "db", key: "pw" }] })]));
    assert.equal(doc!.jobs.a.steps[0].env.PW, "${{ secrets.DB_PW }}");
    const clash = compile(
      workflow([container("a", { secretEnv: [{ name: "X", secret: "a-b", key: "c" }, { name: "Y", secret: "a", key: "b-c" }] })]),
    );
    assert.ok(clash.diagnostics.some((d) => d.code === "name-collision"));
  });

  test("params become typed workflow_dispatch inputs; a scheduled run falls back to the default", () => {
    const wf = workflow([container("a", { env: [{ name: "D", value: { kind: "param", name: "day" } }] })], {
      params: [{ name: "day", default: "", loc }],
      config: { cron: { schedule: "*/5 * * * *" } },
    });
    const { doc } = compile(wf);
    assert.deepEqual(doc!.on.workflow_dispatch.inputs.day, { type: "string", default: "" });
    assert.deepEqual(doc!.on.schedule, [{ cron: "*/5 * * * *" }]);
    assert.equal(doc!.jobs.a.steps[0].env.D, "${{ fromJSON(github.event_name == 'schedule' && '\"\"' || toJSON(inputs.day)) }}");
  });

  test("cron: more often than every 5 minutes is an error; a time zone is a warning", () => {
    assert.equal(shortestCronGap("*/5 * * * *"), 5);
    assert.equal(shortestCronGap("* * * * *"), 1);
    assert.equal(shortestCronGap("0,58 * * * *"), 2);
    assert.equal(shortestCronGap("0,58 3 * * *"), 58);
    assert.equal(shortestCronGap("30 2 * * *"), 60);
    const fast = compile(workflow([container("a")], { config: { cron: { schedule: "*/2 * * * *" } } }));
    assert.ok(fast.diagnostics.some((d) => d.code === "cron-too-frequent" && d.severity === "error"));
    const tz = compile(workflow([container("a")], { config: { cron: { schedule: "0 * * * *", timezone: "Asia/Tokyo" } } }));
    assert.ok(tz.diagnostics.some((d) => d.code === "cron-timezone" && d.severity === "warning"));
  });

  test("a matrix of more than 256 jobs is an error", () => {
    const items = Array.from({ length: 257 }, (_, i) => [String(i)]);
    const { diagnostics } = compile(workflow([container("a", { loop: { kind: "items", items } })]));
    assert.ok(diagnostics.some((d) => d.code === "matrix-too-large"));
  });

  test("timeouts round up to whole minutes with a warning; the workflow timeout caps every job", () => {
    const { doc, diagnostics } = compile(workflow([container("a", { timeout: 90 }), container("b")], { config: { timeout: 3600 } }));
    assert.equal(doc!.jobs.a["timeout-minutes"], 2);
    assert.equal(doc!.jobs.b["timeout-minutes"], 60);
    assert.ok(diagnostics.some((d) => d.code === "approximated"));
  });

  test("permissions: least privilege by default, scope list or read-all from the option; bad scopes are errors", () => {
    assert.deepEqual(compile(workflow([container("a")])).doc!.permissions, { contents: "read" });
    assert.deepEqual(compile(workflow([container("a")]), { permissions: "contents:read,id-token:write" }).doc!.permissions, { contents: "read", "id-token": "write" });
    assert.equal(compile(workflow([container("a")]), { permissions: "read-all" }).doc!.permissions, "read-all");
    assert.ok(compile(workflow([container("a")]), { permissions: "root:write" }).diagnostics.some((d) => d.code === "invalid-option"));
  });

  test("resource limits become docker options; requests are dropped with a warning", () => {
    const { doc, diagnostics } = compile(
      workflow([container("a", { resources: { limits: { cpu: "500m", memory: "1Gi" }, requests: { cpu: "100m" } } })]),
    );
    assert.equal(doc!.jobs.a.container.options, "--cpus 0.5 --memory 1073741824");
    assert.ok(diagnostics.some((d) => d.code === "dropped" && /requests/.test(d.message)));
  });

  test("a workflow file over 512 KB is a warning", () => {
    const big = { kind: "script", name: "big", loc, image: "python:3.12", command: ["python"], source: "x = 1\n".repeat(100_000) } as Step;
    assert.ok(compile(workflow([big])).diagnostics.some((d) => d.code === "too-large" && d.severity === "warning"));
  });

  test("a container step without a command is refused: a job container never runs the entrypoint", () => {
    const s = { kind: "container", name: "a", loc, image: "alpine" } as Step;
    assert.ok(compile(workflow([s])).diagnostics.some((d) => d.code === "missing-command"));
  });

  test("script steps without arguments run through the runner's shell template", () => {
    const py = { kind: "script", name: "p", loc, image: "python:3.12", command: ["python"], source: "print(1)\n" } as Step;
    const js = { kind: "script", name: "j", loc, image: "node:20", command: ["node"], source: "console.log(1)\n" } as Step;
    const { doc } = compile(workflow([py, js]));
    assert.equal(doc!.jobs.p.steps[0].shell, "python");
    assert.equal(doc!.jobs.j.steps[0].shell, "node {0}");
  });
});

describe("github backend: refusals", () => {
  test("constructs GitHub cannot express are refused by the driver, naming feature, target and line", () => {
    const at = (line: number) => ({ file: "x.ts", line, col: 1 });
    const wf = workflow([
      { kind: "while", name: "again", loc: at(2), condition: { kind: "compare", op: "eq", left: "a", right: "b" }, body: [container("inner")] } as Step,
      { kind: "resource", name: "job", loc: at(3), action: "create", manifest: "kind: Job" } as Step,
      { kind: "templateRef", name: "call", loc: at(4), ref: { name: "t", template: "x" } } as Step,
      container("srv", { loc: at(5), daemon: true, volumeMounts: [{ volume: "v", mountPath: "/v" }], nodeSelector: { a: "b" } }),
    ]);
    const diags = checkCapabilities(wf, githubBackend).filter((d) => d.severity === "error");
    const lines = diags.map((d) => `${d.loc?.line} ${/^(.*?), used by/.exec(d.message)![1]}`);
    assert.deepEqual(lines.sort(), [
      "2 a loop that repeats while a condition holds (execWhile)",
      "3 a Kubernetes resource step (runJob)",
      "4 a call to a template of an installed workflow template (runTemplate)",
      "5 a daemon step that keeps running while later steps run (daemon)",
      "5 a node selector (nodeSelector)",
      "5 a volume mounted into a step (volumeMounts)",
    ]);
    for (const d of diags) assert.match(d.message, /on target github: ./);
  });
  test("retries are emulated, and the driver says so", () => {
    const diags = checkCapabilities(workflow([container("a", { retry: { limit: 2 } })]), githubBackend);
    assert.ok(diags.some((d) => d.severity === "warning" && /retries .* target github: .*loop/.test(d.message)));
  });
});

describe("github backend: ordering", () => {
  const on = (step: string, status = "ok") => ({ kind: "on" as const, step, status: status as "ok" });

  test("a plain graph keeps GitHub's default if", () => {
    const { doc } = compile(workflow([container("a"), container("b", { depends: on("a") })]));
    assert.deepEqual(doc!.jobs.b.needs, ["a"]);
    assert.equal(doc!.jobs.b.if, undefined);
  });

  test("downstream of a conditional step: a skipped parent lets the step run, an omitted one does not", () => {
    const when = { kind: "compare" as const, op: "eq" as const, left: { kind: "param" as const, name: "p" }, right: "1" };
    const { doc } = compile(
      workflow([container("a", { when }), container("b", { depends: on("a") }), container("c", { depends: on("b") })], { params: [{ name: "p", default: "1", loc }] }),
    );
    assert.equal(doc!.jobs.a.if, "${{ !cancelled() && inputs.p == '1' }}");
    assert.equal(doc!.jobs.b.if, "${{ !cancelled() && (needs.a.result == 'success' || needs.a.result == 'skipped') }}");
    // b has no condition of its own: only its success lets c run
    assert.deepEqual(doc!.jobs.c.needs, ["b"]);
    assert.equal(doc!.jobs.c.if, "${{ !cancelled() && needs.b.result == 'success' }}");
  });

  test("status edges read needs.<id>.result; a handled failure is continue-on-error and read from its couler_failed output", () => {
    const { doc } = compile(
      workflow([container("a"), container("b", { depends: on("a", "failed") }), container("c", { depends: on("b") }), container("d", { depends: on("a", "any") })]),
    );
    assert.equal(doc!.jobs.a["continue-on-error"], true);
    assert.equal(doc!.jobs.a.outputs.couler_failed, "${{ steps.couler-status.outputs.failed }}");
    assert.equal(doc!.jobs.b.if, "${{ !cancelled() && needs.a.outputs.couler_failed == 'true' }}");
    assert.equal(doc!.jobs.c.if, "${{ !cancelled() && needs.b.result == 'success' }}");
    assert.equal(doc!.jobs.d.if, "${{ !cancelled() }}");
  });

  test("below a step whose failure is waited for, default edges need the parent's real success", () => {
    const { doc } = compile(
      workflow([
        container("a"),
        container("handler", { depends: on("a", "failed") }),
        container("b", { depends: on("a") }),
        container("c", { depends: on("b") }),
      ]),
    );
    // a fails, handler runs, b and c are omitted (a failure propagates down plain edges)
    assert.equal(doc!.jobs.b.if, "${{ !cancelled() && (needs.a.result == 'success' && needs.a.outputs.couler_failed != 'true') }}");
    assert.equal(doc!.jobs.c.if, "${{ !cancelled() && needs.b.result == 'success' }}");
  });

  test("exit handlers need every main job, start with always() and can read the workflow status", () => {
    const when = { kind: "compare" as const, op: "eq" as const, left: { kind: "workflow" as const, field: "status" as const }, right: "Failed" };
    const { doc, diagnostics } = compile(workflow([container("a"), container("b", { depends: on("a") })], { onExit: [container("page", { when })] }));
    assert.deepEqual(doc!.jobs.page.needs, ["a", "b"]);
    assert.match(doc!.jobs.page.if, /^\$\{\{ always\(\) && \(\(needs\.a\.result == 'failure'/);
    assert.ok(!diagnostics.some((d) => d.code === "case-insensitive"), "the status is one of two known words");
  });

  test("compare=exact: a result compared with a literal is compared in hex; a parameter only with a warning; compare=text warns", () => {
    const when = { kind: "compare" as const, op: "eq" as const, left: { kind: "result" as const, step: "a" }, right: "Yes" };
    const { doc, diagnostics } = compile(workflow([container("a"), container("b", { depends: on("a"), when })]), { compare: "exact" });
    assert.equal(doc!.jobs.b.if, "${{ !failure() && !cancelled() && needs.a.outputs.result_hex == '596573' }}");
    assert.equal(doc!.jobs.a.outputs.result_hex, "${{ steps.outputs.outputs.result_hex }}");
    assert.ok(!diagnostics.some((d) => d.code === "case-insensitive"));
    const byParam = { kind: "compare" as const, op: "eq" as const, left: { kind: "param" as const, name: "p" }, right: "Yes" };
    const p = compile(workflow([container("a", { when: byParam })], { params: [{ name: "p", default: "x", loc }] }), { compare: "exact" });
    assert.ok(p.diagnostics.some((d) => d.code === "case-insensitive"));
    const text = compile(workflow([container("a"), container("b", { depends: on("a"), when })]));
    assert.equal(text.doc!.jobs.b.if, "${{ !failure() && !cancelled() && needs.a.outputs.result == 'Yes' }}");
    assert.ok(text.diagnostics.some((d) => d.code === "case-insensitive"));
  });

  test("anySucceeded on a fanned-out step is refused; errored and skipped are approximations", () => {
    const loop = { kind: "items" as const, items: [["1"], ["2"]] };
    const r = compile(workflow([container("a", { loop }), container("b", { depends: on("a", "anySucceeded") })]));
    assert.ok(r.diagnostics.some((d) => d.severity === "error" && /AnySucceeded/.test(d.message)));
    const e = compile(workflow([container("a"), container("b", { depends: on("a", "errored") })]));
    assert.ok(e.diagnostics.some((d) => d.severity === "warning" && /errored/.test(d.message)));
  });
});

describe("github backend: escaping", () => {
  const nasty = ["${{ secrets.TOKEN }}", "a ${{ b }} c", "$${{x}}", "${{${{", "}} ${{ '", "it's \"quoted\"\n$(rm -rf /) `x`", "${{ '${{' }}"];

  test("templateText leaves no live expression but its own neutraliser", () => {
    for (const s of nasty) {
      const t = templateText(s);
      const stripped = t.split("${{ '${{' }}").join("");
      assert.ok(!stripped.includes("${{"), t);
    }
  });

  test("a value holding ${{ is refused when GitHub's expression for it would pass 21000 characters", () => {
    assert.equal(expressionLength("a${{ x }}b"), "format('a{0}b',  x )".length);
    const long = "y".repeat(21_000);
    const bad = compile(workflow([container("a", { env: [{ name: "V", value: `${long}\${{` }] })]));
    assert.ok(bad.diagnostics.some((d) => d.code === "too-long" && d.severity === "error"));
    const fine = compile(workflow([container("a", { env: [{ name: "V", value: long }] })]));
    assert.deepEqual(fine.diagnostics, []);
  });

  test("stringLiteral quotes and survives control characters", () => {
    assert.equal(stringLiteral("it's"), "'it''s'");
    assert.equal(stringLiteral("a\nb"), "fromJSON('\"a\\nb\"')");
  });

  test("plain words only; anything else goes through env", () => {
    assert.ok(plainWord("cowsay", true));
    assert.ok(plainWord("--day=1", false));
    assert.ok(!plainWord("A=b", true));
    assert.ok(!plainWord("if", true));
    assert.ok(!plainWord("$HOME", false));
    assert.ok(!plainWord("a b", false));
    const { doc } = compile(workflow([container("a", { command: ["echo", "${{ github.token }}", "$(id)"] })]));
    const st = doc!.jobs.a.steps[0];
    assert.equal(st.run, 'echo "$COULER_ARG_1" "$COULER_ARG_2"\n');
    assert.equal(st.env.COULER_ARG_1, "${{ '${{' }} github.token }}");
    assert.equal(st.env.COULER_ARG_2, "$(id)");
  });

  test("GitHub's parser reads every neutralised value back as the exact original text", async () => {
    const env = nasty.map((value, i) => ({ name: `V${i}`, value }));
    const source = "print('${{ github.token }}')\nCOULER_SCRIPT_EOF\n";
    const script = { kind: "script", name: "s", loc, image: "python:3.12", command: ["python"], source, env } as Step;
    const { files } = compile(workflow([script]));
    const [p] = await parseGithubWorkflows([{ name: "escape.yml", content: files[0]!.content }]);
    assert.deepEqual(p!.errors, []);
    const st = p!.jobs[0]!.steps[0]!;
    nasty.forEach((value, i) => assert.equal(st.env[`V${i}`], value, `V${i}`));
    // a source holding `${{` travels base64-encoded, so the run text holds no expression at all
    assert.ok(!st.run!.includes("${{"), st.run);
    const b64 = /<<'COULER_SCRIPT_EOF'\n([\s\S]*?)\nCOULER_SCRIPT_EOF/.exec(st.run!)![1]!.replace(/\s+/g, "");
    assert.equal(Buffer.from(b64, "base64").toString("utf8"), source);
  });

  test("heredoc delimiters never match a line of the script", () => {
    assert.equal(heredocDelimiter("x"), "COULER_SCRIPT_EOF");
    assert.equal(heredocDelimiter("COULER_SCRIPT_EOF\nCOULER_SCRIPT_EOF_1"), "COULER_SCRIPT_EOF_2");
  });
});

describe("github backend: output delimiter (run in sh)", () => {
  const hasSh = (() => {
    try {
      execFileSync("sh", ["-c", "true"]);
      return true;
    } catch {
      return false;
    }
  })();

  /** Run the emitted shell function the way the job does and parse $GITHUB_OUTPUT the way GitHub documents it. */
  function roundTrip(data: string): string {
    const dir = mkdtempSync(join(tmpdir(), "couler-gh-"));
    try {
      writeFileSync(join(dir, "data"), data);
      writeFileSync(join(dir, "out"), "");
      const script = `${EMIT_OUTPUT_FN.join("\n")}\ncouler_output value "$1"\n`;
      execFileSync("sh", ["-e", "-c", script, "sh", join(dir, "data")], { env: { ...process.env, GITHUB_OUTPUT: join(dir, "out") } });
      const lines = execFileSync("cat", [join(dir, "out")]).toString().split("\n");
      const m = /^value<<(.*)$/.exec(lines[0]!);
      assert.ok(m, lines[0]);
      const end = lines.indexOf(m[1]!, 1);
      assert.ok(end > 0, "delimiter line not found");
      return lines.slice(1, end).join("\n");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  test("the hex form of a value (for exact comparisons) drops the same final newline", { skip: !hasSh }, () => {
    for (const v of ["", "heads", "Heads\n", "a\nb\n\n", "ü 0a"]) {
      const dir = mkdtempSync(join(tmpdir(), "couler-gh-"));
      try {
        writeFileSync(join(dir, "data"), v);
        writeFileSync(join(dir, "out"), "");
        execFileSync("sh", ["-e", "-c", `${EMIT_HEX_FN.join("\n")}\ncouler_hex h "$1"\n`, "sh", join(dir, "data")], {
          env: { ...process.env, GITHUB_OUTPUT: join(dir, "out") },
        });
        const want = Buffer.from(v.endsWith("\n") ? v.slice(0, -1) : v, "utf8").toString("hex");
        assert.equal(execFileSync("cat", [join(dir, "out")]).toString(), `h=${want}\n`, JSON.stringify(v));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
  });

  test("values survive, including the delimiter text itself; one final newline is dropped", { skip: !hasSh }, () => {
    for (const v of ["", "x", "a\nb", "COULER_EOF_0", "COULER_EOF_0\nCOULER_EOF_1\nx", "line\n\n", "${{ x }}"]) {
      const want = v.endsWith("\n") ? v.slice(0, -1) : v;
      assert.equal(roundTrip(v), want, JSON.stringify(v));
    }
  });
});

describe("github backend: hand-built workflows for constructs no fixture covers pass GitHub's parser and the schema", () => {
  const on = (step: string) => ({ kind: "on" as const, step, status: "ok" as const });
  const cases: Record<string, WorkflowIR> = {
    artifacts: workflow([
      container("build", { command: ["sh", "-c", "mkdir -p /out && echo hi > /out/app"], outputArtifacts: [{ name: "binary", path: "/out", loc }] }),
      container("test", {
        command: ["ls", "/opt/bin"],
        depends: on("build"),
        inputArtifacts: [{ name: "bin", path: "/opt/bin", from: { kind: "step", step: "build", artifact: "binary" }, loc }],
      }),
    ]),
    reusable: workflow(
      [
        container("notify", {
          command: ["echo", { kind: "param", name: "channel" }],
          secretEnv: [{ name: "TOKEN", secret: "slack", key: "token" }],
          workingDir: "/tmp/work dir",
          retry: { limit: 2 },
          timeout: 120,
        }),
      ],
      { params: [{ name: "channel", default: "#data", description: "where ${{ to }} post", loc }], config: { reusable: true } },
    ),
    fanIn: workflow(
      [
        {
          kind: "script",
          name: "shard",
          loc,
          image: "node:20",
          command: ["node"],
          source: "console.log(process.argv[2])\n",
          args: [{ kind: "item", field: "id" }],
          loop: { kind: "from", source: { kind: "param", name: "shards" }, parallelism: 3 },
          outputs: [{ name: "count", path: "/tmp/count", loc }],
        } as Step,
        container("sum", { command: ["echo", { kind: "output", step: "shard", output: "count" }, { kind: "result", step: "shard" }], depends: on("shard") }),
      ],
      { params: [{ name: "shards", default: '[{"id":"a"}]', loc }], onExit: [container("report", { command: ["echo", { kind: "result", step: "sum" }, { kind: "workflow", field: "name" }] })] },
    ),
  };
  test("zero parser errors, schema-valid", async () => {
    const compiled = Object.entries(cases).map(([name, wf]) => {
      const r = compile(wf);
      assert.deepEqual(r.diagnostics.filter((d) => d.severity === "error"), [], name);
      return { name: `${name}.yml`, content: r.text };
    });
    const parsed = await parseGithubWorkflows(compiled);
    for (const p of parsed) assert.deepEqual(p.errors, [], p.name);
    for (const c of compiled) {
      if (SCHEMAS_MISSING) break;
      const v = githubValidator();
      assert.ok(v(YAML.parse(c.content)), `${c.name}: ${errorsText(v)}`);
    }
  });
  test("artifacts: tar packed, uploaded under <job>.<name> and placed at the reader's path", () => {
    const { doc } = compile(cases.artifacts!);
    const up = doc!.jobs.build.steps.find((s: { uses?: string }) => s.uses === "actions/upload-artifact@v4");
    assert.equal(up.with.name, "build.binary");
    const down = doc!.jobs.test.steps.find((s: { uses?: string }) => s.uses === "actions/download-artifact@v4");
    assert.equal(down.with.name, "build.binary");
    assert.equal(doc!.jobs.test.steps.at(-1).id, "run");
  });
  test("reusable: workflow_call with the same inputs and the secrets it reads", () => {
    const { doc } = compile(cases.reusable!);
    assert.deepEqual(doc!.on.workflow_call.secrets, { SLACK_TOKEN: { required: true } });
    assert.equal(doc!.on.workflow_call.inputs.channel.description, "where $ {{ to }} post");
    const bad = compile(workflow([container("a")], { params: [{ name: "p", default: "${{ x }}", loc }] }));
    assert.ok(bad.diagnostics.some((d) => d.severity === "error" && /default/.test(d.message)));
  });
  test("fan-in: the reader needs the collector; the matrix job exposes no outputs", () => {
    const { doc } = compile(cases.fanIn!);
    assert.deepEqual(doc!.jobs.sum.needs, ["shard", "shard-collect"]);
    assert.equal(doc!.jobs.shard.outputs, undefined);
    assert.equal(doc!.jobs.shard.strategy["max-parallel"], 3);
    assert.deepEqual(Object.keys(doc!.jobs["shard-collect"].outputs), ["result", "count"]);
    assert.deepEqual(doc!.jobs.report.needs, ["shard", "sum"]);
  });
  test("memoization: actions/cache keyed by a hash of the key; on a hit the program is skipped and outputs come from the cache", async () => {
    const wf = workflow([
      container("calc", { cache: { name: "calc", key: { kind: "concat", parts: ["k,", { kind: "param", name: "p" }] } } }),
      container("use", { command: ["echo", { kind: "result", step: "calc" }], depends: on("calc") }),
    ], { params: [{ name: "p", default: "1", loc }] });
    const { doc, text } = compile(wf);
    const steps = doc!.jobs.calc.steps as { id?: string; if?: string; uses?: string; run?: string }[];
    assert.equal(steps.find((x) => x.id === "run")!.if, "${{ steps.cache.outputs.cache-hit != 'true' }}");
    assert.match(steps.find((x) => x.id === "outputs")!.run!, /couler_output result "\$RUNNER_TEMP\/couler-cache\/result"/);
    assert.ok(steps.some((x) => x.uses === "actions/cache/save@v4"));
    const [p] = await parseGithubWorkflows([{ name: "cache.yml", content: text }]);
    assert.deepEqual(p!.errors, []);
  });

  test("a concurrency option is literal text", () => {
    const { doc } = compile(workflow([container("a")]), { concurrency: "deploy-${{ github.ref }}" });
    assert.equal(doc!.concurrency.group, "deploy-${{ '${{' }} github.ref }}");
  });
});

describe("github backend: the generated scripts, run in sh", () => {
  const hasSh = (() => {
    try {
      execFileSync("sh", ["-c", "command -v tee && command -v grep && command -v tail"]);
      return true;
    } catch {
      return false;
    }
  })();

  /** Run a job's `run:` steps (shell sh) the way the runner does: `sh -e file`, with RUNNER_TEMP and GITHUB_OUTPUT. */
  function runJob(job: { steps: { run?: string; shell?: string; env?: Record<string, string> }[] }) {
    const dir = mkdtempSync(join(tmpdir(), "couler-gh-job-"));
    try {
      const out = join(dir, "output");
      writeFileSync(out, "");
      let stdout = "";
      let code = 0;
      job.steps.forEach((st, i) => {
        if (st.run === undefined || code !== 0) return;
        assert.equal(st.shell, "sh");
        for (const v of Object.values(st.env ?? {})) assert.ok(!v.includes("${{"), "only literal env in these tests");
        const file = join(dir, `step${i}.sh`);
        writeFileSync(file, st.run);
        try {
          stdout += execFileSync("sh", ["-e", file], {
            cwd: dir,
            env: { PATH: process.env.PATH, RUNNER_TEMP: dir, GITHUB_OUTPUT: out, COUNTER: join(dir, "counter"), ...st.env },
            stdio: ["ignore", "pipe", "ignore"],
          }).toString();
        } catch (e) {
          const err = e as { status: number; stdout: Buffer };
          code = err.status;
          stdout += err.stdout.toString();
        }
      });
      const outputs: Record<string, string> = {};
      const lines = execFileSync("cat", [out]).toString().split("\n");
      for (let i = 0; i < lines.length; i++) {
        const m = /^([^<]+)<<(.+)$/.exec(lines[i]!);
        if (!m) continue;
        const end = lines.indexOf(m[2]!, i + 1);
        outputs[m[1]!] = lines.slice(i + 1, end).join("\n");
        i = end;
      }
      return { code, stdout, outputs };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  const reader = (step: string) => container("reader", { command: ["echo", { kind: "result", step }], depends: { kind: "on", step, status: "ok" } });

  test("stdout is printed, captured without its final newline, and the exit code is kept", { skip: !hasSh }, () => {
    const ok = compile(workflow([container("a", { command: ["sh", "-c", "printf 'two\\nlines\\n'; printf 'COULER_EOF_0\\n'"] }), reader("a")]));
    const r = runJob(ok.doc!.jobs.a);
    assert.equal(r.code, 0);
    assert.equal(r.stdout, "two\nlines\nCOULER_EOF_0\n");
    assert.equal(r.outputs.result, "two\nlines\nCOULER_EOF_0");
    const bad = compile(workflow([container("a", { command: ["sh", "-c", "echo partial; exit 3"] }), reader("a")]));
    const b = runJob(bad.doc!.jobs.a);
    assert.equal(b.code, 3);
    assert.equal(b.stdout, "partial\n");
  });

  test("retries re-run the command up to the limit", { skip: !hasSh }, () => {
    // fails twice, then succeeds
    const flaky = ["sh", "-c", 'n=$(cat "$COUNTER" 2>/dev/null || echo 0); echo $((n + 1)) > "$COUNTER"; [ "$n" -ge 2 ]'];
    assert.equal(runJob(compile(workflow([container("a", { command: flaky, retry: { limit: 2 } })])).doc!.jobs.a).code, 0);
    assert.equal(runJob(compile(workflow([container("a", { command: flaky, retry: { limit: 1 } })])).doc!.jobs.a).code, 1);
  });

  test("retry backoff maxDuration is the whole retry window from the first attempt's start, not a cap on each delay", { skip: !hasSh }, () => {
    // always fails; waits 1 s between attempts; the window is 1 s: at most 2 attempts start
    // (the old loop capped each delay at 1 s and ran all 6)
    const failing = ["sh", "-c", 'n=$(cat "$COUNTER" 2>/dev/null || echo 0); echo $((n + 1)) > "$COUNTER"; exit 1'];
    const { doc, diagnostics } = compile(workflow([container("a", { command: failing, retry: { limit: 5, backoff: { duration: 1, factor: 1, maxDuration: 1 } } })]));
    const job = doc!.jobs.a;
    const dir = mkdtempSync(join(tmpdir(), "couler-gh-window-"));
    try {
      const file = join(dir, "run.sh");
      writeFileSync(file, job.steps[0].run);
      let code = 0;
      try {
        execFileSync("sh", ["-e", file], { cwd: dir, env: { PATH: process.env.PATH, RUNNER_TEMP: dir, COUNTER: join(dir, "counter"), ...job.steps[0].env }, stdio: "ignore" });
      } catch (e) {
        code = (e as { status: number }).status;
      }
      assert.equal(code, 1);
      const attempts = Number(execFileSync("cat", [join(dir, "counter")]).toString());
      assert.ok(attempts >= 1 && attempts <= 2, `${attempts} attempts`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    assert.ok(diagnostics.some((d) => /retry window/.test(d.message)));
  });

  test("a script with arguments and hostile text runs with exactly its source and arguments", { skip: !hasSh }, () => {
    const source = 'printf "%s|" "$@"\necho\necho \'COULER_SCRIPT_EOF\' "$HOME_NOT_SET" `echo x`\n';
    const withOpen = "echo '${{ github.token }}'\n";
    const s = { kind: "script", name: "s", loc, image: "alpine", command: ["sh"], source, args: ["a b", "$(id)", "--x=1"] } as Step;
    const { doc } = compile(workflow([s, reader("s")]));
    const r = runJob(doc!.jobs.s);
    assert.equal(r.code, 0);
    assert.equal(r.outputs.result, "a b|$(id)|--x=1|\nCOULER_SCRIPT_EOF  x");
    const enc = { kind: "script", name: "e", loc, image: "alpine", command: ["sh"], source: withOpen } as Step;
    const e = runJob(compile(workflow([enc, reader("e")])).doc!.jobs.e);
    assert.deepEqual([e.code, e.outputs.result], [0, "${{ github.token }}"]);
  });

  test("output files are read after the program; a missing one fails the job", { skip: !hasSh }, () => {
    const mk = (cmd: string) =>
      compile(workflow([container("a", { command: ["sh", "-c", cmd], outputs: [{ name: "n", path: "out file.txt", loc }] })])).doc!.jobs.a;
    const r = runJob(mk("printf 42 > 'out file.txt'"));
    assert.deepEqual([r.code, r.outputs.n], [0, "42"]);
    assert.notEqual(runJob(mk("true")).code, 0);
  });
});

describe("github backend: artifact packing, run in sh", () => {
  const hasTar = (() => {
    try {
      execFileSync("sh", ["-c", "command -v tar"]);
      return true;
    } catch {
      return false;
    }
  })();

  /** Pack in the writer's steps, hand the folder over as the artifact actions would, unpack in the reader's. */
  function passArtifact(kind: "file" | "dir") {
    const dir = mkdtempSync(join(tmpdir(), "couler-gh-art-"));
    try {
      const src = join(dir, "src path");
      const dst = join(dir, "dest", kind === "file" ? "renamed.bin" : "folder");
      const writer = container("w", { outputArtifacts: [{ name: "out", path: src, loc }] });
      const reader = container("r", {
        depends: { kind: "on", step: "w", status: "ok" },
        inputArtifacts: [{ name: "in", path: dst, from: { kind: "step", step: "w", artifact: "out" }, loc }],
      });
      const { doc } = compile(workflow([writer, reader]));
      const sh = (st: { run: string; env?: Record<string, string> }) =>
        execFileSync("sh", ["-e", "-c", st.run], { env: { PATH: process.env.PATH, RUNNER_TEMP: join(dir, "tmp"), ...st.env } });
      if (kind === "file") {
        writeFileSync(src, "#!/bin/sh\necho hi\n", { mode: 0o755 });
      } else {
        execFileSync("mkdir", ["-p", join(src, "sub")]);
        writeFileSync(join(src, "sub", "x.txt"), "x");
      }
      const pack = doc!.jobs.w.steps.find((s: { name?: string }) => s.name === "pack artifact out");
      sh(pack);
      execFileSync("mkdir", ["-p", join(dir, "tmp", "couler-input")]);
      execFileSync("cp", ["-R", join(dir, "tmp", "couler-artifact", "out"), join(dir, "tmp", "couler-input", "0")]);
      const place = doc!.jobs.r.steps.find((s: { name?: string }) => s.name === "place artifact in");
      sh(place);
      return kind === "file"
        ? execFileSync("sh", ["-c", '[ -x "$1" ] && cat "$1"', "sh", dst]).toString()
        : execFileSync("cat", [join(dst, "sub", "x.txt")]).toString();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  test("a file arrives at the reader's exact path with its mode", { skip: !hasTar }, () => {
    assert.equal(passArtifact("file"), "#!/bin/sh\necho hi\n");
  });
  test("a folder's contents arrive in the reader's folder", { skip: !hasTar }, () => {
    assert.equal(passArtifact("dir"), "x");
  });
});
