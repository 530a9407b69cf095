/**
 * Golden files: `golden/<target>/<fixture>/` holds what `couler compile <fixture> --target
 * <target> -o dir` writes, plus `diagnostics.txt` when it printed any (with the exit code
 * when that is not 0). `UPDATE_GOLDEN=1 npm test` rewrites them; under CI it refuses.
 */
import { mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { runCli } from "../../src/cli/cli.js";
import { REPO, repoPath } from "./paths.js";

export const UPDATE = process.env.UPDATE_GOLDEN === "1";
if (UPDATE && process.env.CI) {
  throw new Error("UPDATE_GOLDEN=1 is refused under CI: golden files are rewritten on a developer's machine and reviewed");
}

/** `fixtures/x.ts` paths (repo-relative, `/`-separated), valid ones first, each group sorted. */
export function listFixtures(): string[] {
  const list = (dir: string) =>
    readdirSync(repoPath(dir))
      .filter((f) => f.endsWith(".ts") && !f.startsWith("_"))
      .sort()
      .map((f) => `${dir}/${f}`);
  return [...list("fixtures"), ...list("fixtures/invalid")];
}

export function goldenDir(target: string, fixture: string): string {
  return repoPath("golden", target, fixture.replace(/^fixtures\//, "").replace(/\.ts$/, ""));
}

export function readTree(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out.set(relative(dir, p).split("\\").join("/"), readFileSync(p, "utf8"));
    }
  };
  try {
    walk(dir);
  } catch {
    // no such folder: empty tree
  }
  return out;
}

export interface Compiled {
  files: Map<string, string>;
  code: number;
  stdout: string;
  stderr: string;
}

/** Run the CLI in-process from the repository root. */
export async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const code = await runCli(args, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), cwd: REPO });
  return { code, stdout, stderr };
}

/** Targets the golden suite covers: all, or those named in GOLDEN_TARGETS (comma-separated). */
export function goldenTargetFilter(name: string): boolean {
  const only = process.env.GOLDEN_TARGETS;
  return !only || only.split(",").map((s) => s.trim()).includes(name);
}

export async function compileFixture(fixture: string, target: string, options: Readonly<Record<string, string>> = {}): Promise<Compiled> {
  const out = mkdtempSync(join(tmpdir(), "couler-golden-"));
  try {
    const extra = Object.entries(options).flatMap(([k, v]) => ["--option", `${k}=${v}`]);
    const r = await cli(["compile", fixture, "--target", target, ...extra, "-o", out]);
    const files = readTree(out);
    const diag = r.stderr
      .split("\n")
      .filter((l) => l !== "" && !l.startsWith("wrote "))
      .map((l) => `${l}\n`)
      .join("");
    const text = diag + (r.code !== 0 ? `exit code: ${r.code}\n` : "");
    if (text) files.set("diagnostics.txt", text);
    return { files, code: r.code, stdout: r.stdout, stderr: r.stderr };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

export function writeGolden(dir: string, files: Map<string, string>): void {
  rmSync(dir, { recursive: true, force: true });
  for (const [path, content] of files) {
    const p = join(dir, path);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, content);
  }
}
