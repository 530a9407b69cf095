/**
 * The property every random workflow must have, on every backend, checked in batches so that
 * the Python and GitHub-parser child processes start once per batch, not once per case:
 *
 * 1. compiling never throws (a refusal with error diagnostics is fine: no files then);
 * 2. compiling twice gives the same bytes;
 * 3. every document is valid: Argo and Tekton under their strict schemas (and the YAML reads
 *    the same under 1.1 and 1.2), GitHub under the SchemaStore schema and GitHub's own parser,
 *    Airflow DAG files under Python's `ast`;
 * 4. the graph read back equals the IR's graph.
 */
import YAML from "yaml";
import type { OutputFile } from "../../backends/backend.js";
import { BACKENDS } from "../../backends/registry.js";
import { compileWorkflow } from "../../src/compile.js";
import type { Workflow } from "../../src/dsl/workflow.js";
import { parseGithubWorkflows } from "../helpers/github-parser.js";
import { randomWorkflow } from "../helpers/random-workflow.js";
import { argoValidator, errorsText, githubValidator, SCHEMAS_MISSING, tektonValidator } from "../helpers/schemas.js";
import { compareGraphs, graphOfIR } from "./neutral-graph.js";
import { READERS } from "./readers.js";
import { checkKfpDocs, kfpProtoDir, kfpRoot, referenceProblems } from "../helpers/kfp-proto.js";

const kfpDir = kfpProtoDir();

export interface Case {
  readonly seed: number;
  readonly size: number;
}

export interface CaseFailure {
  readonly seed: number;
  readonly size: number;
  readonly target: string;
  readonly problem: string;
}

export interface BatchStats {
  /** Cases compiled, per target. */
  readonly compiled: Record<string, number>;
  /** Cases the target accepted (and so were validated and read back), per target. */
  readonly accepted: Record<string, number>;
}

const TARGETS = ["argo", "tekton", "github", "airflow", "kfp", "ir"];

function yamlDocs(path: string, text: string, fail: (p: string) => void): Record<string, unknown>[] {
  const d11 = YAML.parseAllDocuments(text, { version: "1.1" });
  const d12 = YAML.parseAllDocuments(text, { version: "1.2" });
  for (const d of [...d11, ...d12]) if (d.errors.length) fail(`${path}: YAML error ${d.errors[0]!.message}`);
  const a = d11.map((d) => d.toJS());
  const b = d12.map((d) => d.toJS());
  if (JSON.stringify(a) !== JSON.stringify(b)) fail(`${path}: reads differently under YAML 1.1 and 1.2`);
  return b as Record<string, unknown>[];
}

/**
 * Check a batch of cases; returns failures (with the case numbers to reproduce them).
 *
 * ```ts
 * const { failures } = await checkCases([{ seed: 1, size: 5 }]);
 * ```
 */
export async function checkCases(cases: readonly Case[]): Promise<{ failures: CaseFailure[]; stats: BatchStats }> {
  const failures: CaseFailure[] = [];
  const compiled: Record<string, number> = {};
  const accepted: Record<string, number> = {};
  const pending = new Map<string, { c: Case; wf: Workflow; files: OutputFile[] }[]>();
  for (const c of cases) {
    let wf: Workflow;
    try {
      wf = randomWorkflow(c.seed, c.size);
    } catch (e) {
      failures.push({ ...c, target: "dsl", problem: `building the workflow threw: ${(e as Error).stack}` });
      continue;
    }
    const errs = wf.diagnostics.filter((d) => d.severity === "error");
    if (errs.length) {
      failures.push({ ...c, target: "dsl", problem: `the generator made an invalid workflow: ${errs.map((d) => d.message).join("; ")}` });
      continue;
    }
    for (const target of TARGETS) {
      const backend = BACKENDS.find((b) => b.name === target);
      if (!backend) continue;
      const fail = (problem: string) => failures.push({ ...c, target, problem });
      compiled[target] = (compiled[target] ?? 0) + 1;
      let r1, r2;
      try {
        r1 = compileWorkflow(wf, backend, {});
        r2 = compileWorkflow(wf, backend, {});
      } catch (e) {
        fail(`compile threw: ${(e as Error).stack}`);
        continue;
      }
      if (JSON.stringify(r1) !== JSON.stringify(r2)) fail("two compilations differ");
      if (r1.diagnostics.some((d) => d.severity === "error")) {
        if (r1.files.length) fail("error diagnostics but files were produced");
        continue;
      }
      if (r1.files.length === 0) {
        fail("no files and no error");
        continue;
      }
      accepted[target] = (accepted[target] ?? 0) + 1;
      for (const f of r1.files) {
        if (SCHEMAS_MISSING && target !== "ir") {
          // no engine schemas here: the parsers and read-back below still check the output
        } else if (target === "argo") {
          for (const doc of yamlDocs(f.path, f.content, fail)) {
            if (doc.kind === "Secret") continue;
            const v = argoValidator(String(doc.kind));
            if (!v(doc)) fail(`${f.path}: Argo schema: ${errorsText(v)}`);
          }
        } else if (target === "tekton") {
          for (const doc of yamlDocs(f.path, f.content, fail)) {
            const v = tektonValidator(String(doc.kind));
            if (!v(doc)) fail(`${f.path}: Tekton schema: ${errorsText(v)}`);
          }
        } else if (target === "github" && /\.ya?ml$/.test(f.path)) {
          for (const doc of yamlDocs(f.path, f.content, fail)) {
            const v = githubValidator();
            if (!v(doc)) fail(`${f.path}: GitHub schema: ${errorsText(v)}`);
          }
        } else if (target === "kfp" && kfpDir) {
          const docs = yamlDocs(f.path, f.content, fail);
          for (const p of [...checkKfpDocs(kfpRoot(kfpDir), docs), ...referenceProblems(docs[0] as Record<string, unknown>)]) fail(`${f.path}: KFP spec: ${p}`);
        } else if (target === "ir") {
          if (canonical(JSON.parse(f.content)) !== canonical(wf.ir)) fail("IR JSON does not round-trip");
        }
      }
      if (target !== "ir") pending.set(target, [...(pending.get(target) ?? []), { c, wf, files: [...r1.files] }]);
    }
  }
  // GitHub's own parser, once for the batch
  const gh = pending.get("github") ?? [];
  if (gh.length) {
    const parsed = await parseGithubWorkflows(gh.flatMap((g, i) => g.files.filter((f) => /\.ya?ml$/.test(f.path)).map((f) => ({ name: `${i}/${f.path}`, content: f.content }))));
    for (const p of parsed) {
      if (p.errors.length) {
        const g = gh[Number(p.name.split("/")[0])]!;
        failures.push({ ...g.c, target: "github", problem: `GitHub's parser: ${p.errors.slice(0, 3).join("; ")}` });
      }
    }
  }
  // read back (Airflow: Python's ast, once for the batch; a syntax error shows as an error)
  for (const reader of READERS) {
    const items = pending.get(reader.target) ?? [];
    if (!items.length) continue;
    const read = await reader.readMany(items.map((i) => ({ files: i.files, ir: i.wf.ir })));
    items.forEach((it, k) => {
      const res = read[k]!;
      if ("error" in res) {
        failures.push({ ...it.c, target: reader.target, problem: `read back: ${res.error}` });
        return;
      }
      for (const d of compareGraphs(it.wf.ir, graphOfIR(it.wf.ir), res.graph, reader.compare)) failures.push({ ...it.c, target: reader.target, problem: d });
    });
  }
  return { failures, stats: { compiled, accepted } };
}

/** One line per failure, with the command that reproduces it. */
export function describeFailures(fs: readonly CaseFailure[], limit = 20): string {
  return fs
    .slice(0, limit)
    .map((f) => `[${f.target}] case ${f.seed}:${f.size} (npm run fuzz -- --case ${f.seed}:${f.size}): ${f.problem}`)
    .join("\n");
}

function canonical(x: unknown): string {
  const sort = (v: unknown): unknown =>
    Array.isArray(v) ? v.map(sort) : v && typeof v === "object" ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, y]) => [k, sort(y)])) : v;
  return JSON.stringify(sort(x));
}
