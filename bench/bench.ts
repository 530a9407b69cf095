/**
 * `npm run bench`: figures, not assertions (tests never time things).
 * - Build and compile a generated DAG of N steps (step i depends on i-1 and i-3, the shape
 *   the Python Couler figure was measured on) to each target, in a fresh process per run:
 *   wall time of building plus compiling (module loading excluded) and peak memory (max RSS).
 * - The floor: building the equivalent Argo document as plain objects and serialising it with
 *   the `yaml` package, measured the same way in the same run.
 * - `couler compile fixtures/hello.ts --target argo` start-to-exit time against a bare
 *   `node -e ""`, with the transpile cache warm.
 * Each goal is printed as a ratio measured in this run, marked met or not met. A time is the
 * best of R fresh processes (other load only ever adds time); CPU time (user + system, all
 * threads) is printed beside it. Peak memory is the median.
 * Usage: node dist/bench/bench.js [--runs R] [steps...]   (default: 3 runs, 10000 20000)
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const SELF = fileURLToPath(import.meta.url);
const REPO = fileURLToPath(new URL("../../", import.meta.url));
/**
 * Python Couler (0.1.1rc8, CPython 3.11) building and dumping the same 10,000-step DAG as an
 * Argo workflow, as measured in issue 16. Python Couler cannot be installed here, so this is
 * an anchor, not a figure of this run.
 */
const PYTHON_COULER_10K_MS = 4570;
const TARGETS = ["argo", "tekton", "airflow", "github", "ir"];
/** Targets held to "within 1.3x of Argo" (`ir` is a dump of the IR, listed for information). */
const ENGINE_TARGETS = ["tekton", "airflow", "github"];

interface Figure {
  ms: number;
  cpuMs: number;
  maxRssMb: number;
  bytes: number;
  errors: number;
  firstError?: string;
}

function parentsOf(i: number): string[] {
  const ps: string[] = [];
  if (i >= 1) ps.push(`s${i - 1}`);
  if (i >= 3) ps.push(`s${i - 3}`);
  return ps;
}

async function childCouler(target: string, n: number): Promise<void> {
  const { findBackend } = await import("../backends/registry.js");
  const { compileWorkflow } = await import("../src/compile.js");
  const { runContainer, setDependencies, workflow } = await import("../src/index.js");
  const backend = findBackend(target)!;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const wf = workflow(`bench-${n}`, () => {
    for (let i = 0; i < n; i++) {
      setDependencies(() => runContainer({ stepName: `s${i}`, image: "alpine:3.20", command: ["echo", `step ${i}`] }), parentsOf(i));
    }
  });
  const out = compileWorkflow(wf, backend);
  const ms = performance.now() - t0;
  const cpuMs = cpuSince(c0);
  const errors = out.diagnostics.filter((d) => d.severity === "error");
  const bytes = out.files.reduce((a, f) => a + f.content.length, 0);
  report({ ms, cpuMs, maxRssMb: process.resourceUsage().maxRSS / 1024, bytes, errors: errors.length, firstError: errors[0]?.message });
}

/** The same Argo document as `couler compile --target argo` writes, built directly and serialised by `yaml`. */
async function childFloor(n: number): Promise<void> {
  const YAML = (await import("yaml")).default;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const tasks: object[] = [];
  const leaves: object[] = [];
  for (let i = 0; i < n; i++) {
    const deps = parentsOf(i).sort();
    tasks.push({ name: `s${i}`, template: `s${i}`, ...(deps.length ? { dependencies: deps } : {}) });
    leaves.push({ name: `s${i}`, container: { image: "alpine:3.20", command: ["echo", `step ${i}`] } });
  }
  const doc = {
    apiVersion: "argoproj.io/v1alpha1",
    kind: "Workflow",
    metadata: { generateName: `bench-${n}-` },
    spec: { entrypoint: `bench-${n}`, templates: [{ name: `bench-${n}`, dag: { tasks } }, ...leaves] },
  };
  const text = YAML.stringify(doc);
  const ms = performance.now() - t0;
  report({ ms, cpuMs: cpuSince(c0), maxRssMb: process.resourceUsage().maxRSS / 1024, bytes: text.length, errors: 0 });
}

function cpuSince(c0: NodeJS.CpuUsage): number {
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1000;
}

function report(f: Figure): void {
  console.log(JSON.stringify(f));
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Best time and median peak memory of `runs` fresh processes; a failed run is a figure of NaN. */
function figure(args: string[], runs: number): Figure {
  const all: Figure[] = [];
  for (let r = 0; r < runs; r++) {
    const p = spawnSync(process.execPath, [SELF, "child", ...args], { encoding: "utf8", maxBuffer: 1 << 26 });
    if (p.status !== 0) {
      const why = p.stderr.split("\n").find((l) => /error/i.test(l)) ?? `exit ${p.status}`;
      return { ms: NaN, cpuMs: NaN, maxRssMb: NaN, bytes: 0, errors: 1, firstError: `the process failed: ${why.trim()}` };
    }
    all.push(JSON.parse(p.stdout) as Figure);
  }
  return { ...all[0]!, ms: Math.min(...all.map((f) => f.ms)), cpuMs: Math.min(...all.map((f) => f.cpuMs)), maxRssMb: median(all.map((f) => f.maxRssMb)) };
}

function startToExit(args: string[], env: Record<string, string> = {}): number {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, args, { cwd: REPO, env: { ...process.env, ...env }, stdio: ["ignore", "ignore", "pipe"] });
  const t = performance.now() - t0;
  if (r.status !== 0) throw new Error(`${args.join(" ")} failed: ${r.stderr}`);
  return t;
}

const goals: { what: string; figure: string; met: boolean }[] = [];
/** A goal is judged on wall time; `cpu` is the same ratio in CPU time, printed for context (other load inflates wall time). */
function goal(what: string, value: number, limit: number, atMost: boolean, unit = "x", cpu?: number): void {
  const met = atMost ? value <= limit : value >= limit;
  const extra = cpu === undefined ? "" : `   cpu ${cpu.toFixed(2)}${unit}`;
  goals.push({ what, figure: `${value.toFixed(2)}${unit} (goal ${atMost ? "<=" : ">="} ${limit}${unit})${extra}`, met });
}

function main(): void {
  const argv = process.argv.slice(2);
  const ri = argv.indexOf("--runs");
  const runs = ri >= 0 ? Number(argv.splice(ri, 2)[1]) : 3;
  const sizes = argv.map(Number).filter((x) => x > 0);
  if (!sizes.length) sizes.push(10000, 20000);
  const [small, large] = [sizes[0]!, sizes[1]];

  console.log(`# build + compile a DAG where step i depends on i-1 and i-3; best of ${runs} fresh processes`);
  console.log(`target      steps      ms  cpu ms   peak MB   output KB`);
  const line = (name: string, n: number, f: Figure) =>
    console.log(
      `${name.padEnd(10)} ${String(n).padStart(6)} ${f.ms.toFixed(0).padStart(7)} ${f.cpuMs.toFixed(0).padStart(7)} ${f.maxRssMb.toFixed(0).padStart(9)} ${(f.bytes / 1024).toFixed(0).padStart(11)}${f.errors ? `   (${f.errors} errors: ${f.firstError})` : ""}`,
    );
  const floors = new Map<number, Figure>();
  for (const n of sizes) {
    floors.set(n, figure(["floor", String(n)], runs));
    line("yaml floor", n, floors.get(n)!);
  }
  const figs = new Map<string, Map<number, Figure>>();
  for (const t of TARGETS) {
    figs.set(t, new Map());
    for (const n of sizes) {
      const f = figure(["couler", t, String(n)], runs);
      figs.get(t)!.set(n, f);
      line(t, n, f);
    }
  }

  const cache = mkdtempSync(join(tmpdir(), "couler-bench-cache-"));
  const bin = join(REPO, "dist", "src", "cli", "main.js");
  const env = { COULER_CACHE_DIR: cache };
  const cliArgs = [bin, "compile", "fixtures/hello.ts", "--target", "argo"];
  startToExit(cliArgs, env); // warm the transpile cache
  const startRuns = 15;
  const bare: number[] = [];
  const cli: number[] = [];
  for (let i = 0; i < startRuns; i++) {
    bare.push(startToExit(["-e", ""]));
    cli.push(startToExit(cliArgs, env));
  }
  const b = Math.min(...bare);
  const c = Math.min(...cli);
  console.log(`\n# start to exit, best of ${startRuns} (transpile cache warm; medians ${median(bare).toFixed(0)} and ${median(cli).toFixed(0)} ms)`);
  console.log(`node -e ""                                         ${b.toFixed(0).padStart(6)} ms`);
  console.log(`couler compile fixtures/hello.ts --target argo     ${c.toFixed(0).padStart(6)} ms`);

  const argo = figs.get("argo")!.get(small)!;
  const floor = floors.get(small)!;
  goal(`argo, ${small} steps: Python Couler's ${PYTHON_COULER_10K_MS} ms (anchor) / ours`, PYTHON_COULER_10K_MS / argo.ms, 10, false, "x", PYTHON_COULER_10K_MS / argo.cpuMs);
  goal(`argo, ${small} steps: ours / yaml floor`, argo.ms / floor.ms, 1.0, true, "x", argo.cpuMs / floor.cpuMs);
  for (const t of ENGINE_TARGETS) {
    const f = figs.get(t)!.get(small)!;
    goal(`${t}, ${small} steps: ${t} / argo`, f.ms / argo.ms, 1.3, true, "x", f.cpuMs / argo.cpuMs);
  }
  if (large !== undefined) {
    for (const t of TARGETS) {
      const [a, z] = [figs.get(t)!.get(small)!, figs.get(t)!.get(large)!];
      goal(`${t}: ${large} / ${small} steps (linear ${(large / small).toFixed(1)})`, z.ms / a.ms, 2.1 * (large / small / 2), true, "x", z.cpuMs / a.cpuMs);
    }
  }
  for (const t of TARGETS) goal(`${t}, ${small} steps: peak memory`, figs.get(t)!.get(small)!.maxRssMb, 120, true, " MB");
  goal(`warm couler compile hello.ts / bare node`, c / b, 2.5, true);

  console.log(`\n# goals (measured in this run; the Python figure is the issue's anchor)`);
  for (const g of goals) console.log(`${g.met ? "met    " : "NOT MET"}  ${g.what.padEnd(62)} ${g.figure}`);
}

if (process.argv[2] === "child") {
  const [mode, a, b] = process.argv.slice(3);
  await (mode === "floor" ? childFloor(Number(a)) : childCouler(a!, Number(b)));
} else main();
