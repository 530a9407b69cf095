/**
 * `npm run fuzz -- --runs N --seed S`: as many random workflows as asked, through every backend
 * (see test/readback/property-check.ts for what is checked). `--case seed:size` re-runs one case;
 * `--batch N` sets how many cases share one Python / GitHub-parser process (default 200).
 * Exit 1 when any case fails, printing how to reproduce each.
 *
 * `npm run fuzz -- --replay [target] --runs N --seed S`: random workflows that really run
 * (test/helpers/runnable-workflow.ts) through `couler run` and each engine replay (or one), and
 * the differences no known, warned difference explains; `--case seed:size` re-runs one and
 * prints both outcomes.
 */
import fc from "fast-check";
import { caseArbitrary, randomWorkflow } from "../helpers/random-workflow.js";
import { type Case, type CaseFailure, checkCases, describeFailures } from "../readback/property-check.js";
import { READERS } from "../readback/readers.js";

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

if (process.argv.includes("--replay")) {
  await replayFuzz();
  process.exit(process.exitCode ?? 0);
}

async function replayFuzz(): Promise<void> {
  const { REPLAYS } = await import("../replay/registry.js");
  const { checkAgainst, disposeCheck, randomCases } = await import("../replay/check.js");
  const { runnableWorkflow } = await import("../helpers/runnable-workflow.js");
  const t = arg("replay");
  const replays = REPLAYS.filter((r) => !t || t.startsWith("--") || r.target === t);
  const c = arg("case");
  const list = c ? [{ seed: Number(c.split(":")[0]), size: Number(c.split(":")[1]) }] : randomCases(Number(arg("runs") ?? 200), Number(arg("seed") ?? Date.now() % 100000));
  let bad = 0;
  for (const { seed, size } of list) {
    const wf = runnableWorkflow(seed, size);
    if (c && process.argv.includes("--print-ir")) console.log(JSON.stringify(wf.ir, null, 2));
    for (const r of replays) {
      const res = await checkAgainst(wf, r);
      if (res.unexplained.length) {
        bad++;
        console.log(`case ${seed}:${size} on ${r.target}${r.options ? " " + JSON.stringify(r.options) : ""}:\n  ${res.unexplained.join("\n  ")}`);
      }
    }
  }
  disposeCheck();
  console.log(`replay fuzz: ${list.length} cases x ${replays.length} replays, ${bad} with unexplained differences`);
  if (bad) process.exitCode = 1;
}

const one = arg("case");
const runs = Number(arg("runs") ?? 1000);
const seed = Number(arg("seed") ?? Date.now() % 0x7fffffff);
const batch = Number(arg("batch") ?? 200);

let cases: Case[];
if (one) {
  const [s, n] = one.split(":").map(Number);
  cases = [{ seed: s!, size: n! }];
  if (process.argv.includes("--print-ir")) console.log(JSON.stringify(randomWorkflow(s!, n!).ir, null, 2));
} else {
  cases = fc.sample(caseArbitrary(), { seed, numRuns: runs });
  console.log(`fuzz: ${runs} cases, seed ${seed}`);
}
const failures: CaseFailure[] = [];
const totals: Record<string, number> = {};
const started = Date.now();
for (let i = 0; i < cases.length; i += batch) {
  const r = await checkCases(cases.slice(i, i + batch));
  failures.push(...r.failures);
  for (const [t, n] of Object.entries(r.stats.accepted)) totals[t] = (totals[t] ?? 0) + n;
  process.stdout.write(`  ${Math.min(i + batch, cases.length)}/${cases.length} cases, ${failures.length} failures\n`);
}
console.log(`accepted per target: ${JSON.stringify(totals)}; ${((Date.now() - started) / 1000).toFixed(1)} s`);
const isKnown = (f: CaseFailure) => READERS.some((r) => r.target === f.target && r.knownBugs.some((k) => f.problem.includes(k.match)));
const known = failures.filter(isKnown);
const fresh = failures.filter((f) => !isKnown(f));
if (known.length) console.log(`${known.length} failures match known, reported backend bugs (--show-known to list them)`);
if (process.argv.includes("--show-known")) console.log(describeFailures(known, 50));
if (fresh.length) {
  console.log(describeFailures(fresh, 50));
  process.exitCode = 1;
}
