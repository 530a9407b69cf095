/**
 * `npm run bench`: figures, not assertions.
 * - Build and compile a generated DAG of N steps (each with 1-3 parents) to each target,
 *   each measurement in a fresh process: wall time and peak memory (max RSS).
 * - `couler compile fixtures/hello.ts --target argo` start-to-exit time against a bare
 *   `node -e ""`, with the transpile cache warm.
 * Usage: node dist/bench/bench.js [steps...]   (default: 10000 20000)
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { BACKENDS, findBackend } from "../backends/registry.js";
import { compileWorkflow } from "../src/compile.js";
import { runContainer, setDependencies, workflow } from "../src/index.js";

const SELF = fileURLToPath(import.meta.url);
const REPO = fileURLToPath(new URL("../../", import.meta.url));

/** A seeded PRNG (mulberry32): the same DAG every run. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function buildDag(n: number) {
  const rand = rng(42);
  return workflow(`bench-${n}`, () => {
    for (let i = 0; i < n; i++) {
      const parents = new Set<string>();
      if (i > 0) {
        const k = 1 + Math.floor(rand() * 3);
        for (let j = 0; j < k; j++) parents.add(`s${Math.floor(rand() * i)}`);
      }
      setDependencies(
        () => runContainer({ stepName: `s${i}`, image: "alpine:3.20", command: ["echo", `step ${i}`] }),
        [...parents],
      );
    }
  });
}

function child(target: string, n: number): void {
  const t0 = performance.now();
  const wf = buildDag(n);
  const t1 = performance.now();
  const backend = findBackend(target)!;
  const out = compileWorkflow(wf, backend);
  const t2 = performance.now();
  const errors = out.diagnostics.filter((d) => d.severity === "error");
  const bytes = out.files.reduce((a, f) => a + f.content.length, 0);
  const maxRssMb = process.resourceUsage().maxRSS / 1024;
  console.log(JSON.stringify({ target, n, buildMs: t1 - t0, compileMs: t2 - t1, totalMs: t2 - t0, maxRssMb, bytes, errors: errors.length, firstError: errors[0]?.message }));
}

function measure(args: string[], env: Record<string, string> = {}): number {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, args, { cwd: REPO, env: { ...process.env, ...env }, stdio: ["ignore", "ignore", "pipe"] });
  const t = performance.now() - t0;
  if (r.status !== 0) throw new Error(`${args.join(" ")} failed: ${r.stderr}`);
  return t;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function main(): void {
  const sizes = process.argv.slice(2).map(Number).filter((x) => x > 0);
  if (!sizes.length) sizes.push(10000, 20000);
  console.log(`# compile a generated DAG (1-3 parents per step), one fresh process per figure`);
  console.log(`target      steps   build ms  compile ms   total ms   peak MB   output KB`);
  const totals = new Map<string, number[]>();
  for (const b of BACKENDS) {
    for (const n of sizes) {
      const r = spawnSync(process.execPath, [SELF, "child", b.name, String(n)], { encoding: "utf8", maxBuffer: 1 << 26 });
      if (r.status !== 0) {
        console.log(`${b.name.padEnd(10)} ${String(n).padStart(6)}   failed: ${r.stderr.split("\n")[0]}`);
        continue;
      }
      const m = JSON.parse(r.stdout) as { buildMs: number; compileMs: number; totalMs: number; maxRssMb: number; bytes: number; errors: number; firstError?: string };
      const note = m.errors ? `   (${m.errors} errors: ${m.firstError})` : "";
      console.log(
        `${b.name.padEnd(10)} ${String(n).padStart(6)} ${m.buildMs.toFixed(0).padStart(10)} ${m.compileMs.toFixed(0).padStart(11)} ${m.totalMs.toFixed(0).padStart(10)} ${m.maxRssMb.toFixed(0).padStart(9)} ${(m.bytes / 1024).toFixed(0).padStart(11)}${note}`,
      );
      totals.set(b.name, [...(totals.get(b.name) ?? []), m.totalMs]);
    }
  }
  if (sizes.length >= 2) {
    console.log(`\n# growth from ${sizes[0]} to ${sizes[1]} steps (linear would be ${(sizes[1]! / sizes[0]!).toFixed(1)}x)`);
    for (const [t, ms] of totals) if (ms.length >= 2) console.log(`${t.padEnd(10)} ${(ms[1]! / ms[0]!).toFixed(2)}x`);
  }
  const cache = mkdtempSync(join(tmpdir(), "couler-bench-cache-"));
  const bin = join(REPO, "dist", "src", "cli", "main.js");
  const env = { COULER_CACHE_DIR: cache };
  measure([bin, "compile", "fixtures/hello.ts", "--target", "argo"], env); // warm the transpile cache
  const runs = 15;
  const bare: number[] = [];
  const cli: number[] = [];
  for (let i = 0; i < runs; i++) {
    bare.push(measure(["-e", ""]));
    cli.push(measure([bin, "compile", "fixtures/hello.ts", "--target", "argo"], env));
  }
  const b = median(bare);
  const c = median(cli);
  console.log(`\n# start to exit, median of ${runs} (transpile cache warm)`);
  console.log(`node -e ""                                         ${b.toFixed(0).padStart(6)} ms`);
  console.log(`couler compile fixtures/hello.ts --target argo     ${c.toFixed(0).padStart(6)} ms   (${(c / b).toFixed(1)}x bare node)`);
}

if (process.argv[2] === "child") child(process.argv[3]!, Number(process.argv[4]));
else main();
