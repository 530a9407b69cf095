/**
 * Airflow goldens parse as Python 3, their tasks and `>>` edges match the IR, the literal
 * helpers survive hostile text (checked by python3 itself, and by Jinja when installed),
 * and a BashOperator task really runs and reports its outputs as one JSON line.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { airflowBackend } from "../backends/airflow/airflow-backend.js";
import { jinjaText } from "../backends/airflow/jinja-text.js";
import { pyLiteral, pyStr } from "../backends/airflow/python-literals.js";
import { heredocDelimiter, shQuote } from "../backends/airflow/shell.js";
import { DiagnosticBag } from "../src/diagnostics.js";
import { allSteps, parentsOf } from "../src/ir/graph.js";
import type { Step, WorkflowIR } from "../src/ir/types.js";
import { compileFixture, listFixtures, readTree } from "./helpers/golden.js";
import { repoPath } from "./helpers/paths.js";

const script = (name: string) => repoPath("test", "airflow", name);

type Run = Record<string, { state: string; stdout: string[]; instances: number }>;
/** A DAG file run as Airflow's `dag.test()` runs it (test/replay/airflow/dag_test.py), task by task. */
function dagTest(file: string): Run & { __run__: { state: string } } {
  const dir = mkdtempSync(join(tmpdir(), "couler-af-dagtest-"));
  try {
    const job = join(dir, "job.json");
    writeFileSync(job, JSON.stringify({ file, params: {}, env: { ...process.env }, run_id: "manual__test", workdir: dir }));
    const r = JSON.parse(python([repoPath("test", "replay", "airflow", "dag_test.py"), job])) as { state: string; tis: Record<string, { state: string; stdout: string }[]> };
    const out: Record<string, unknown> = { __run__: { state: r.state } };
    for (const [tid, tis] of Object.entries(r.tis)) out[tid] = { state: tis[0]!.state, stdout: tis.map((t) => t.stdout), instances: tis.length };
    return out as Run & { __run__: { state: string } };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
const python = (args: string[], input?: string) => execFileSync("python3", args, { encoding: "utf8", input, maxBuffer: 64 << 20 });

const variants = ["airflow", ...(airflowBackend.goldenVariants ?? []).map((v) => `airflow-${v.name}`)];
const goldenFiles = variants.flatMap((dir) =>
  [...readTree(repoPath("golden", dir)).keys()].filter((p) => p.endsWith(".py")).map((p) => ({ dir, rel: p, abs: repoPath("golden", dir, p) })),
);

const HOSTILE = [
  "",
  "plain",
  'say "hi"',
  "it's",
  "'''",
  '"""',
  "back\\slash\\",
  "\\n is not a newline",
  "line1\nline2\n",
  "cr\r\nlf",
  "tab\there",
  "{{ params.day }}",
  "{% if true %}x{% endif %}",
  "{# comment #}",
  "{",
  "a{",
  "}}",
  "{{",
  "{{{{",
  "${{ x }} $(whoami) `id` $HOME",
  "ünïcødé ✓ 😀 𝔘",
  "nul\u0000byte",
  "bell\u0007 del\u007f c1\u0085 nbsp\u00a0 bidi\u202e ls\u2028 bom\ufeff",
  "config.json",
  "run.sh",
  "trailing newline\n",
  "'); import os; os.system('x') #",
  "\\{{ escaped? }}",
];

describe("airflow goldens", () => {
  test("there are Airflow goldens in every variant", () => {
    for (const v of variants) assert.ok(goldenFiles.filter((g) => g.dir === v).length >= 10, `few goldens in ${v}`);
  });

  test("every golden parses as Python 3 (one python3 process for all)", () => {
    const code = "import ast, json, sys\nbad = {}\nfor p in sys.argv[1:]:\n    try:\n        ast.parse(open(p, encoding='utf-8').read(), p)\n    except SyntaxError as e:\n        bad[p] = str(e)\nprint(json.dumps(bad))";
    const bad = JSON.parse(python(["-c", code, ...goldenFiles.map((g) => g.abs)]));
    assert.deepEqual(bad, {});
  });

  test("every golden runs against stand-ins for the Airflow 2.6+/3 API (argument names, imports, call shapes)", () => {
    const got = JSON.parse(python([script("fake_airflow.py"), ...goldenFiles.map((g) => g.abs)])) as Record<string, string[]>;
    const bad = Object.fromEntries(Object.entries(got).filter(([, v]) => v.length));
    assert.deepEqual(bad, {});
  });

  test("every golden imports only what it uses", () => {
    const code = [
      "import ast, json, sys",
      "bad = {}",
      "for p in sys.argv[1:]:",
      "    tree = ast.parse(open(p, encoding='utf-8').read())",
      "    used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}",
      "    for node in tree.body:",
      "        if isinstance(node, (ast.Import, ast.ImportFrom)) and getattr(node, 'module', None) != '__future__':",
      "            for a in node.names:",
      "                name = (a.asname or a.name).split('.')[0]",
      "                if name not in used:",
      "                    bad.setdefault(p, []).append(name)",
      "print(json.dumps(bad))",
    ].join("\n");
    assert.deepEqual(JSON.parse(python(["-c", code, ...goldenFiles.map((g) => g.abs)])), {});
  });

  test("no golden HTML-escapes or leaks absolute paths and timestamps", () => {
    for (const g of goldenFiles) {
      const text = readFileSync(g.abs, "utf8");
      assert.ok(!/&(amp|lt|gt|quot|#x27|#39);/.test(text), `${g.dir}/${g.rel} looks HTML-escaped`);
      assert.ok(!text.includes(repoPath()), `${g.dir}/${g.rel} contains an absolute path`);
    }
  });

  test("tasks, edges and trigger rules in each golden match the IR", async () => {
    const read = JSON.parse(python([script("read_dag.py"), ...goldenFiles.map((g) => g.abs)])) as Record<string, { error?: string; tasks?: Record<string, { upstream: string[]; trigger_rule: string }> }>;
    const irs = new Map<string, WorkflowIR>();
    const seen = new Set<string>();
    for (const g of goldenFiles) {
      const got = read[g.abs]!;
      assert.equal(got.error, undefined, `${g.dir}/${g.rel}: ${got.error}`);
      const fixture = listFixtures().find((f) => f.replace(/^fixtures\//, "").replace(/\.ts$/, "") === g.rel.split("/").slice(0, -1).join("/"));
      assert.ok(fixture, `no fixture for ${g.rel}`);
      if (!seen.has(fixture)) {
        seen.add(fixture);
        for (const text of (await compileFixture(fixture, "ir")).files.values()) {
          if (!text.startsWith("{")) continue;
          const wf = JSON.parse(text) as WorkflowIR;
          irs.set(`${fixture}#${wf.name.replace(/[^A-Za-z0-9_]/g, "_")}.py`, wf);
        }
      }
      const ir = irs.get(`${fixture}#${g.rel.split("/").pop()}`);
      assert.ok(ir, `no IR for ${g.rel}`);
      checkTasks(`${g.dir}/${g.rel}`, ir, got.tasks!);
    }
  });
});

/** Collapse helper tasks (`x__when`, `x__items`) into their step and compare with the IR graph. */
function checkTasks(where: string, ir: WorkflowIR, tasks: Record<string, { upstream: string[]; trigger_rule: string }>): void {
  const stepOf = (id: string) => id.replace(/__(when|items|depends)$/, "");
  const steps = allSteps(ir);
  const mainNames = new Set(ir.steps.map((s) => s.name));
  const ids = new Set(Object.keys(tasks).map(stepOf));
  ids.delete("couler_workflow_failed");
  ids.delete("couler_workflow_status");
  assert.deepEqual([...ids].sort(), steps.map((s) => s.name).sort(), `${where}: tasks`);
  for (const s of steps) {
    const mine = Object.keys(tasks).filter((id) => stepOf(id) === s.name);
    // exit-handler roots may wait through couler_workflow_status, which waits for the main tasks
    const through = (u: string): string[] => (u === "couler_workflow_status" ? tasks[u]!.upstream : [u]);
    const ups = new Set(mine.flatMap((id) => tasks[id]!.upstream.flatMap(through).map(stepOf)).filter((u) => u !== s.name && !u.startsWith("couler_workflow_")));
    const exitRoot = !mainNames.has(s.name) && parentsOf(s).length === 0;
    const want = exitRoot ? [...mainNames].sort() : parentsOf(s);
    assert.deepEqual([...ups].sort(), want, `${where}: upstream of ${s.name}`);
    const first = mine.find((id) => id.endsWith("__depends")) ?? mine.find((id) => id.endsWith("__when")) ?? mine.find((id) => id.endsWith("__items")) ?? s.name;
    const rule = tasks[first]!.trigger_rule;
    if (exitRoot) assert.equal(rule, "all_done", `${where}: exit handler ${s.name} runs whatever happened`);
    else if (s.depends && isOkOnly(s)) assert.equal(rule, "none_failed", `${where}: ${s.name} waits with "ok" edges`);
    else if (s.depends) assert.ok(first.endsWith("__depends") || rule === "all_done", `${where}: ${s.name} has a gate that reads its parents' states`);
    else assert.equal(rule, "all_success", `${where}: ${s.name} has no upstream`);
  }
  const failed = tasks.couler_workflow_failed;
  if (failed) {
    assert.equal(failed.trigger_rule, "all_done", `${where}: the run-state task waits for everything`);
    const downstream = new Set(Object.values(tasks).flatMap((t) => t.upstream));
    const leaves = Object.keys(tasks).filter((id) => !downstream.has(id));
    assert.deepEqual(leaves, ["couler_workflow_failed"], `${where}: the run-state task is the only leaf`);
  }
  if (ir.onExit?.length) assert.ok(failed, `${where}: the run still fails`);
}

function isOkOnly(s: Step): boolean {
  const d = s.depends!;
  return d.kind === "on" ? d.status === "ok" : d.kind === "and" && d.of.every((x) => x.kind === "on" && x.status === "ok");
}

describe("airflow literal helpers", () => {
  test("Python, Jinja and shell literals give back hostile text exactly", () => {
    const cases: { kind: string; source: string; expect: string }[] = [];
    for (const s of HOSTILE) {
      cases.push({ kind: "py", source: pyStr(s), expect: s });
      if (!s.includes("\u0000")) {
        cases.push({ kind: "jinja", source: pyStr(jinjaText([s])), expect: s });
        cases.push({ kind: "jinja", source: pyStr(jinjaText([s, { expr: "params.day" }, s])), expect: `${s}{{ 7*7 }}${s}` });
        cases.push({ kind: "sh", source: shQuote(s), expect: s });
      }
    }
    const failures = JSON.parse(python([script("check_literals.py")], JSON.stringify(cases)));
    assert.deepEqual(failures, []);
    const dicts = HOSTILE.map((s) => pyLiteral({ [s]: [s, 1, true, null] }));
    const back = JSON.parse(python(["-c", "import ast, json, sys\nprint(json.dumps([ast.literal_eval(l) for l in json.load(sys.stdin)]))"], JSON.stringify(dicts)));
    assert.deepEqual(back, HOSTILE.map((s) => ({ [s]: [s, 1, true, null] })));
  });

  test("Python literals never contain raw control, bidi or line-separator characters", () => {
    for (const s of HOSTILE) assert.ok(!/[\u0000-\u001f\u007f-\u00a0\u2028\u2029\u202a-\u202e\ufeff]/.test(pyStr(s)), JSON.stringify(s));
  });

  test("a heredoc delimiter is never a line of the text", () => {
    const text = "a\nCOULER_EOF_x\n";
    const d = heredocDelimiter(text);
    const evil = `${d}\n${text}`;
    assert.ok(!evil.split("\n").includes(heredocDelimiter(evil)));
  });
});

describe("airflow backend", () => {
  const loc = { file: "w.ts", line: 1, col: 1 };
  const base = (steps: Step[], extra: Partial<WorkflowIR> = {}): WorkflowIR => ({ kind: "Workflow", irVersion: 1, name: "w", source: "w.ts", loc, config: {}, params: [], steps, ...extra });
  const compile = (wf: WorkflowIR, options: Record<string, string> = {}) => {
    const diagnostics = new DiagnosticBag();
    const files = airflowBackend.compile(wf, { diagnostics, options: { version: "2", operator: "kpo", ...options } });
    return { files, diags: diagnostics.items.map((d) => `${d.severity}: ${d.message}`) };
  };

  test("declares a decision for every feature", () => {
    for (const [f, s] of Object.entries(airflowBackend.capabilities)) assert.ok(s !== undefined, f);
  });

  test("hostile user text stays data: the DAG parses and keeps it as a string", () => {
    const evil = "\"\"\"'''\n{{ 7*7 }}{% raw %}\u0000\u202e😀 \\";
    const wf = base([{ kind: "container", name: "x", loc, image: evil, command: [evil], args: [{ kind: "concat", parts: [evil, { kind: "param", name: "p" }] }], env: [{ name: "E", value: evil }] }], {
      params: [{ name: "p", default: evil, description: evil, loc }],
    });
    for (const operator of ["kpo", "bash"]) {
      const { files, diags } = compile(wf, { operator });
      assert.deepEqual(diags, []);
      const file = join(mkdtempSync(join(tmpdir(), "couler-af-")), "w.py");
      writeFileSync(file, files[0]!.content);
      const got = JSON.parse(python([script("read_dag.py"), file]))[file];
      assert.equal(got.error, undefined, got.error);
      assert.deepEqual(Object.keys(got.tasks), ["x"]);
    }
  });

  test("existing claims and emptyDirs are mounted; a claim made per run is refused", () => {
    const wf = base(
      [{ kind: "container", name: "x", loc, image: "a", volumeMounts: [{ volume: "data", mountPath: "/d", readOnly: true }, { volume: "tmp", mountPath: "/t", subPath: "s" }] }],
      { config: { volumes: [{ name: "data", kind: "pvc", claimName: "team" }, { name: "tmp", kind: "emptyDir" }, { name: "unused", kind: "claim", size: "1Gi", accessModes: ["ReadWriteOnce"] }] } },
    );
    const { files, diags } = compile(wf);
    assert.deepEqual(diags, []);
    assert.match(files[0]!.content, /persistent_volume_claim=k8s\.V1PersistentVolumeClaimVolumeSource\(claim_name="team"\)/);
    assert.match(files[0]!.content, /k8s\.V1VolumeMount\(name="tmp", mount_path="\/t", sub_path="s"\)/);
    const claim = compile(base([{ kind: "container", name: "x", loc, image: "a", volumeMounts: [{ volume: "w", mountPath: "/w" }] }], { config: { volumes: [{ name: "w", kind: "claim", size: "1Gi", accessModes: ["ReadWriteOnce"] }] } }));
    assert.ok(claim.diags.some((d) => d.startsWith("error: volume \"w\" is a claim created for each run")), claim.diags.join("\n"));
  });

  test("a condition on the item of a static fan-out keeps only the matching items", () => {
    if (spawnSync("python3", ["-c", "import jinja2"]).status !== 0) return;
    const item = { kind: "item" as const, index: 0 };
    const wf = base([
      {
        kind: "container",
        name: "m",
        loc,
        image: "a",
        command: ["echo", item, { kind: "item", index: 1 }],
        loop: { kind: "items", items: [["1", "x"], ["5", "{{ y }}"], ["9", "z"]] },
        when: { kind: "compare", op: "gt", left: item, right: "2" },
      },
    ]);
    const { files, diags } = compile(wf);
    // items whose condition is false get no instance: warned, a known difference of the replay
    assert.deepEqual(diags.map((d) => d.replace(/ on target airflow.*/, "")), ['warning: items of step "m" whose condition is false get no instance']);
    const dir = mkdtempSync(join(tmpdir(), "couler-af-items-"));
    try {
      const file = join(dir, "w.py");
      writeFileSync(file, files[0]!.content);
      const got = JSON.parse(python([script("run_task.py"), file, "m__items", "{}"])).value as { cmds: string[] }[];
      assert.deepEqual(got.map((g) => g.cmds[1]), ["5", "9"]);
      const cases = got.map((g, i) => ({ kind: "jinja", source: pyStr(g.cmds[2]!), expect: ["{{ y }}", "z"][i]! }));
      assert.deepEqual(JSON.parse(python([script("check_literals.py")], JSON.stringify(cases))), []);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a static fan-out above 1024 items is refused", () => {
    const items = Array.from({ length: 1025 }, (_, i) => [String(i)]);
    const { diags } = compile(base([{ kind: "container", name: "m", loc, image: "a", command: ["echo", { kind: "item" }], loop: { kind: "items", items } }]));
    assert.ok(diags.some((d) => d.includes("1024")), diags.join("\n"));
  });

  test("depends expressions: ok is none_failed; anything else is a gate that reads the parents' states", () => {
    const c = (name: string, depends?: Step["depends"]): Step => ({ kind: "container", name, loc, image: "a", ...(depends ? { depends } : {}) });
    const { files, diags } = compile(
      base([
        c("a"),
        c("b", { kind: "on", step: "a", status: "ok" }),
        c("x", { kind: "or", of: [{ kind: "on", step: "a", status: "failed" }, { kind: "on", step: "b", status: "succeeded" }] }),
        c("y", { kind: "not", of: { kind: "on", step: "a", status: "failed" } }),
      ]),
    );
    assert.deepEqual(diags, []);
    const text = files[0]!.content;
    assert.match(text, /task_id="b",[\s\S]*?trigger_rule="none_failed"/);
    assert.match(text, /task_id="x__depends"/);
    assert.match(text, /task_id="y__depends"/);
    assert.match(text, /task_id="couler_workflow_failed"/);
  });

  test("a BashOperator task runs, keeps the exit code and prints its outputs as the last line", () => {
    const dir = mkdtempSync(join(tmpdir(), "couler-af-run-"));
    try {
      const out = join(dir, "out file");
      const src = `import sys\nopen(${JSON.stringify(out)}, "w").write("x\\"y\\\\z\\n{{ not jinja }}\\n")\nprint("hello {{ 1 }}", sys.argv[1])\n`;
      const wf = base(
        [
          {
            kind: "script",
            name: "s",
            loc,
            image: "ignored",
            command: ["python3"],
            source: src,
            args: [{ kind: "concat", parts: ["--day=", { kind: "param", name: "day" }] }],
            outputs: [{ name: "o", path: out, loc }],
          },
          { kind: "container", name: "f", loc, image: "ignored", command: ["sh", "-c", "echo failing; exit 3"] },
        ],
        { params: [{ name: "day", default: "$(echo pwned) {{ 2 }}", loc }] },
      );
      const { files, diags } = compile(wf, { operator: "bash" });
      assert.deepEqual(diags, []);
      const file = join(dir, "w.py");
      writeFileSync(file, files[0]!.content);
      const jinja = spawnSync("python3", ["-c", "import jinja2"]).status === 0;
      if (!jinja) return;
      const r = JSON.parse(python([script("run_task.py"), file, "s", "{}"]));
      assert.equal(r.rc, 0, r.stderr);
      const pushed = JSON.parse(r.last);
      assert.deepEqual(pushed, { result: "hello {{ 1 }} --day=$(echo pwned) {{ 2 }}", outputs: { o: 'x"y\\z\n{{ not jinja }}' } });
      const f = JSON.parse(python([script("run_task.py"), file, "f", "{}"]));
      assert.equal(f.rc, 3);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a KubernetesPodOperator wrapper keeps the exit code and writes its outputs to return.json", () => {
    const dir = mkdtempSync(join(tmpdir(), "couler-af-kpo-"));
    try {
      const out = join(dir, "o.txt");
      const wf = base([
        {
          kind: "script",
          name: "s",
          loc,
          image: "python:3.12-alpine",
          command: ["python3"],
          source: `import sys\nopen(${JSON.stringify(out)}, "w").write("tab\\there {% x %}\\n")\nprint("arg", sys.argv[1], end="")\n`,
          args: ["{{ not a template }}"],
          outputs: [{ name: "o", path: out, loc }],
          workingDir: dir,
        },
        { kind: "container", name: "f", loc, image: "alpine", command: ["sh", "-c", "exit 7"], outputs: [{ name: "o", path: out, loc }] },
      ]);
      const { files, diags } = compile(wf);
      assert.deepEqual(diags, []);
      const file = join(dir, "w.py");
      writeFileSync(file, files[0]!.content);
      if (spawnSync("python3", ["-c", "import jinja2"]).status !== 0) return;
      const xcom = join(dir, "xcom");
      const r = JSON.parse(python([script("run_task.py"), file, "s", "{}", xcom]));
      assert.equal(r.rc, 0, r.stderr);
      assert.equal(r.stdout, "arg {{ not a template }}");
      assert.deepEqual(JSON.parse(readFileSync(join(xcom, "return.json"), "utf8")), { result: "arg {{ not a template }}", outputs: { o: "tab\there {% x %}" } });
      const f = JSON.parse(python([script("run_task.py"), file, "f", "{}", join(dir, "xcom2")]));
      assert.equal(f.rc, 7);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("condition and fan-out tasks evaluate what the goldens ask for", () => {
    if (spawnSync("python3", ["-c", "import jinja2"]).status !== 0) return;
    const run = (dir: string, fixture: string, task: string, xcoms: object) => {
      const file = goldenFiles.find((g) => g.dir === dir && g.rel.startsWith(`${fixture}/`))!.abs;
      return JSON.parse(python([script("run_task.py"), file, task, JSON.stringify(xcoms)]));
    };
    // per-item condition: only the shard with rows gets an instance
    const shards = '[{"id": "a", "rows": 10}, {"id": "b", "rows": 0}]';
    assert.deepEqual(run("airflow-bash", "map-dynamic", "process__items", { "list-shards": JSON.stringify({ result: shards, outputs: {} }) }).value, [
      { env: { COULER_ARG_1: "a" } },
    ]);
    assert.deepEqual(run("airflow", "map-dynamic", "process__items", { "list-shards": { result: shards, outputs: {} } }).value, [{ cmds: ["echo", "a"] }]);
    // run-time items are data: the mapped task renders its kwargs once more, and gets the item back exactly
    const hostile = ["{{ 7*7 }}", "{% x %}.json", "a'\\b\n", "{#"];
    const got = run("airflow", "map-dynamic", "process__items", {
      "list-shards": { result: JSON.stringify(hostile.map((id) => ({ id, rows: 1 }))), outputs: {} },
    }).value as { cmds: string[] }[];
    const cases = got.map((g, i) => ({ kind: "jinja", source: pyStr(g.cmds[1]!), expect: hostile[i]! }));
    assert.equal(cases.length, hostile.length);
    assert.deepEqual(JSON.parse(python([script("check_literals.py")], JSON.stringify(cases))), []);
    // coin flip: heads runs, tails does not (and the reverse)
    assert.equal(run("airflow", "coin-flip", "heads__when", { "flip-coin": { result: "heads", outputs: {} } }).value, true);
    assert.equal(run("airflow", "coin-flip", "tails__when", { "flip-coin": { result: "heads", outputs: {} } }).value, false);
  });

  test("bash goldens run end to end with Airflow's trigger rule, short-circuit, mapping and XCom semantics", () => {
    if (spawnSync("python3", ["-c", "import jinja2"]).status !== 0) return;
    const run = (fixture: string): Run => dagTest(goldenFiles.find((g) => g.dir === "airflow-bash" && g.rel.startsWith(`${fixture}/`))!.abs);
    const states = (r: Run) => Object.fromEntries(Object.entries(r).filter(([k]) => k !== "__run__").map(([k, v]) => [k, v.state]));
    const conditions = run("conditions");
    assert.equal(conditions.deploy!.state, "success");
    assert.equal(conditions.deploy!.stdout[0], "deploying to staging\n");
    assert.equal(conditions.announce!.state, "skipped");
    const exit = run("exit-handler");
    assert.deepEqual(states(exit), {
      A: "success", B: "success", C: "success", celebrate__when: "success", celebrate: "success",
      "page-oncall__when": "success", "page-oncall": "skipped", cleanup: "success", couler_workflow_failed: "success",
      couler_workflow_status: "success",
    });
    assert.equal(exit.cleanup!.stdout[0], "status=Succeeded\n");
    const map = run("map");
    assert.equal(map.square!.instances, 4);
    assert.equal(map.sum!.stdout[0], 'squares: ["1","4","9","16"]\n');
    assert.deepEqual(run("map-dynamic").process!.stdout, ["a\n"]);
    // A fails: B (A.Failed) and D (any end) run, C (A.Succeeded) does not, E (after B and D) runs;
    // F after A is omitted (upstream_failed), H after F too, G (F.Omitted && B) runs; A's failure is handled
    const df = run("depends-failure");
    assert.deepEqual(
      Object.fromEntries(Object.entries(states(df)).filter(([k]) => !k.includes("__"))),
      { A: "failed", B: "success", C: "upstream_failed", D: "success", E: "success", F: "upstream_failed", G: "success", H: "upstream_failed", couler_workflow_failed: "success" },
    );
    assert.equal(df.__run__.state, "success");
    const po = run("params-outputs");
    assert.equal(po.evaluate!.stdout[0], "0.93 >= 0.9 for s3://models/latest\n");
    assert.equal(po.publish!.stdout[0], "model=s3://models/latest log=trained 2024-01-01\n");
    // notify-failure waits for a failure that did not happen: its gate fails, so it is upstream_failed (omitted)
    assert.equal(run("mixed")["notify-failure"]!.state, "upstream_failed");
    const coin = run("coin-flip");
    assert.deepEqual([coin.heads!.state, coin.tails!.state].sort(), ["skipped", "success"]);
    assert.equal(coin.report!.state, "success");
  });

  test("after a failed step the exit handler sees Failed and the run still fails", () => {
    if (spawnSync("python3", ["-c", "import jinja2"]).status !== 0) return;
    const status = { kind: "workflow" as const, field: "status" as const };
    const wf = base([{ kind: "container", name: "a", loc, image: "x", command: ["sh", "-c", "exit 1"] }], {
      onExit: [
        { kind: "container", name: "ok", loc, image: "x", command: ["echo", "ok"], when: { kind: "compare", op: "eq", left: status, right: "Succeeded" } },
        { kind: "container", name: "page", loc, image: "x", command: ["echo", { kind: "concat", parts: ["status=", status] }] },
      ],
    });
    const { files, diags } = compile(wf, { operator: "bash" });
    assert.deepEqual(diags, []);
    const dir = mkdtempSync(join(tmpdir(), "couler-af-exit-"));
    try {
      const file = join(dir, "w.py");
      writeFileSync(file, files[0]!.content);
      const r = dagTest(file) as unknown as Record<string, { state: string; stdout: string[] }>;
      assert.equal(r.a!.state, "failed");
      assert.equal(r.ok!.state, "skipped");
      assert.equal(r.page!.stdout[0], "status=Failed\n");
      assert.equal(r.couler_workflow_failed!.state, "failed");
      assert.equal(r.couler_workflow_status!.state, "success");
      assert.equal((r as unknown as { __run__: { state: string } }).__run__.state, "failed");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("templates are found from dist and the couler bin", () => {
    const r = spawnSync(process.execPath, [repoPath("dist", "src", "cli", "main.js"), "compile", repoPath("fixtures", "hello.ts"), "--target", "airflow", "--airflow-operator", "bash", "--airflow-version", "3"], { encoding: "utf8", cwd: tmpdir() });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /from airflow\.providers\.standard\.operators\.bash import BashOperator/);
    assert.match(r.stdout, /from airflow\.sdk import DAG/);
  });
});
