/**
 * Runs GitHub's own workflow parser (`@actions/workflow-parser`) over workflow files, in
 * one child process for all of them: the parser is ESM-only and needs a JSON import hook
 * on Node 20 (github-json-hook.ts), which we keep out of the test runner's own process.
 * ```ts
 * const [r] = await parseGithubWorkflows([{ name: "hello.yml", content }]);
 * assert.deepEqual(r.errors, []);
 * ```
 */
import { spawn } from "node:child_process";
import { pathToFileURL } from "node:url";
import { REPO, repoPath } from "./paths.js";

export interface ParsedWorkflow {
  readonly name: string;
  /** Parse and conversion errors (`context.errors`), as text. */
  readonly errors: string[];
  /**
   * For each job: its id and, for each step, the evaluated `env` values that hold no
   * run-time context (literals, including neutralised `${{`), so tests can check them.
   */
  readonly jobs: { id: string; steps: { env: Record<string, string>; run?: string }[] }[];
}

const CHILD = `
import { register } from "node:module";
register(process.env.COULER_HOOK_URL);
const wp = await import("@actions/workflow-parser");
const { ErrorPolicy } = await import("@actions/workflow-parser/model/convert");
const { Evaluator, Lexer, Parser } = await import("@actions/expressions");
let input = "";
for await (const chunk of process.stdin) input += chunk;
const files = JSON.parse(input);
// Only literals and string functions: anything reading a context stays unevaluated.
const evalStatic = (expr) => {
  try {
    const lexed = new Lexer(expr).lex();
    const ast = new Parser(lexed.tokens, [], []).parse();
    const v = new Evaluator(ast, new Map()).evaluate();
    return typeof v.value === "string" ? v.value : undefined;
  } catch { return undefined; }
};
// A template with several segments arrives as format('<literal text>', <expr>, ...). The
// format string is read here by GitHub's documented rules ('' is ', {{ is {, }} is }):
// the library's own evaluator un-doubles only the first '' of a string literal.
const text = (tok) => {
  if (!tok) return undefined;
  if (typeof tok.value === "string") return tok.value;
  const e = tok.expression;
  if (e === undefined) return undefined;
  if (e.startsWith("format('") && Array.isArray(tok.originalExpressions) && tok.originalExpressions.length) {
    let i = "format('".length;
    let fmt = "";
    for (;;) {
      if (i >= e.length) return undefined;
      if (e[i] === "'") {
        if (e[i + 1] === "'") { fmt += "'"; i += 2; continue; }
        break;
      }
      fmt += e[i++];
    }
    const args = tok.originalExpressions.map((t) => evalStatic(t.expression));
    if (args.some((a) => a === undefined)) return undefined;
    return fmt.replace(/[{][{]|[}][}]|[{]([0-9]+)[}]/g, (m, n) => (m === "{{" ? "{" : m === "}}" ? "}" : args[Number(n)]));
  }
  return evalStatic(e);
};
const out = [];
for (const f of files) {
  const trace = new wp.NoOperationTraceWriter();
  const parsed = wp.parseWorkflow({ name: f.name, content: f.content }, trace);
  const errors = [];
  let jobs = [];
  if (parsed.value !== undefined) {
    const tpl = await wp.convertWorkflowTemplate(parsed.context, parsed.value, undefined, { errorPolicy: ErrorPolicy.TryConversion });
    jobs = (tpl.jobs ?? []).map((j) => ({
      id: j.id?.value ?? String(j.id),
      steps: (j.steps ?? []).map((s) => {
        const env = {};
        if (s.env) for (const p of s.env) { const v = text(p.value); if (v !== undefined) env[p.key.value] = v; }
        const run = s.run ? text(s.run) : undefined;
        return run === undefined ? { env } : { env, run };
      }),
    }));
  }
  for (const e of parsed.context.errors.getErrors()) errors.push(e.message);
  out.push({ name: f.name, errors, jobs });
}
process.stdout.write(JSON.stringify(out));
`;

export function parseGithubWorkflows(files: readonly { name: string; content: string }[]): Promise<ParsedWorkflow[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--input-type=module", "--no-warnings", "-e", CHILD], {
      cwd: REPO,
      env: { ...process.env, COULER_HOOK_URL: pathToFileURL(repoPath("dist", "test", "helpers", "github-json-hook.js")).href },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => {
      if (code !== 0) return reject(new Error(`workflow parser child exited with ${code}: ${stderr}`));
      try {
        resolve(JSON.parse(stdout) as ParsedWorkflow[]);
      } catch (e) {
        reject(new Error(`workflow parser child printed no JSON: ${String(e)}\n${stderr}`));
      }
    });
    child.stdin.end(JSON.stringify(files));
  });
}
