/**
 * `couler run` and `couler graph` are registered here (issue 7), separately from the
 * compile commands in cli.ts. Both load one workflow file, refuse a workflow with errors,
 * and hand the IR to `src/run/` (the interpreter) or `src/graph/` (the renderer).
 */
import { Option, type Command } from "commander";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, resolve, sep } from "node:path";
import { error, formatDiagnostic, sortDiagnostics, suggest, type Diagnostic } from "../diagnostics.js";
import type { Workflow } from "../dsl/workflow.js";
import type { Step } from "../ir/types.js";
import type { GraphFormat } from "../graph/render-graph.js";
import { loadWorkflowFile } from "../loader/load.js";
import type { SecretValues } from "../run/inputs.js";
import type { RunOptions } from "../run/interpreter.js";

// The interpreter and the graph renderer load only when their command runs: `couler
// compile` must not pay for them.
const GRAPH_FORMATS = ["mermaid", "dot"] as const;
const loadRun = async () => {
  const [inputs, interpreter, progress, runtime] = await Promise.all([
    import("../run/inputs.js"),
    import("../run/interpreter.js"),
    import("../run/progress.js"),
    import("../run/runtime.js"),
  ]);
  return { ...inputs, ...interpreter, ...progress, ...runtime };
};
import { processIO, type CliIO } from "./cli.js";

class Usage extends Error {}

function displayPath(io: CliIO, baseDir: string, file: string): string {
  const abs = resolve(baseDir, file);
  const rel = relative(io.cwd, abs);
  return (rel.startsWith("..") && rel.split(sep).filter((p) => p === "..").length > 2 ? abs : rel).split(sep).join("/");
}

function printDiagnostics(io: CliIO, baseDir: string, ds: readonly Diagnostic[]): void {
  const shown = ds.map((d) => (d.loc ? { ...d, loc: { ...d.loc, file: displayPath(io, baseDir, d.loc.file) } } : d));
  for (const d of sortDiagnostics(shown)) io.stderr(`${formatDiagnostic(d)}\n`);
}

/** Load `file` and pick one workflow; prints diagnostics and returns undefined when it cannot be used. */
async function loadOne(io: CliIO, file: string, only: string | undefined): Promise<Workflow | undefined> {
  const l = await loadWorkflowFile(resolve(io.cwd, file), file);
  if (l.diagnostics.length) {
    printDiagnostics(io, l.baseDir, l.diagnostics);
    if (l.diagnostics.some((d) => d.severity === "error")) return undefined;
  }
  const names = l.workflows.map((w) => w.workflow.name);
  let wf: Workflow | undefined;
  if (only !== undefined) {
    wf = l.workflows.find((w) => w.workflow.name === only)?.workflow;
    if (!wf) {
      printDiagnostics(io, io.cwd, [error("unknown-workflow", `no workflow named "${only}"${suggest(only, names)}; found: ${names.join(", ")}`)]);
      return undefined;
    }
  } else if (l.workflows.length > 1) {
    printDiagnostics(io, io.cwd, [error("several-workflows", `${file} exports ${names.length} workflows (${names.join(", ")}): pick one with --workflow`)]);
    return undefined;
  } else wf = l.workflows[0]!.workflow;
  if (wf.diagnostics.length) printDiagnostics(io, wf.baseDir, wf.diagnostics);
  if (wf.diagnostics.some((d) => d.severity === "error")) return undefined;
  return wf;
}

function positiveInt(flag: string) {
  return (v: string): number => {
    if (!/^\d+$/.test(v) || Number(v) < 1) throw new Usage(`${flag} expects a positive whole number, got "${v}"`);
    return Number(v);
  };
}

interface RunFlags {
  workflow?: string;
  param: string[];
  jobs?: number;
  container: boolean;
  json?: string;
  secretsFile?: string;
  maxRounds?: number;
  progress: "auto" | "live" | "plain";
  keepTemp?: boolean;
  quiet?: boolean;
}

/** The longest step name (at most 24): the width of the name column before each output line's `|`. */
function nameWidth(steps: readonly Step[]): number {
  let w = 0;
  for (const s of steps) {
    w = Math.max(w, s.name.length);
    if (s.kind === "while") w = Math.max(w, nameWidth(s.body));
  }
  return Math.min(w, 24);
}

/** Add the `run` and `graph` commands to `program`; `setCode` sets the process exit code. */
export function registerRunCommands(program: Command, io: CliIO, setCode: (code: number) => void): void {
  const usage = (e: unknown): boolean => {
    if (e instanceof Usage || (e instanceof Error && e.name === "RunInputError")) {
      io.stderr(`couler: error: ${e.message.split("\n").join("\ncouler: error: ")}\n`);
      setCode(2);
      return true;
    }
    return false;
  };
  // Commander calls option parsers eagerly; a thrown Usage must become exit code 2, not an internal error.
  const guard =
    <A extends unknown[]>(fn: (...a: A) => Promise<void>) =>
    async (...a: A) => {
      try {
        await fn(...a);
      } catch (e) {
        if (!usage(e)) throw e;
      }
    };

  program
    .command("run")
    .description("run a workflow on this machine: steps as local processes (docker/podman, or --no-container)")
    .argument("<file>", "workflow file (.ts)")
    .option("-w, --workflow <name>", "the workflow to run, when the file exports several")
    .option("-p, --param <name=value>", "a parameter value (repeatable)", (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option("-j, --jobs <n>", "at most this many steps at once (default: the number of CPUs)", (v: string) => v as unknown as number)
    .option("--no-container", "run each step's command directly on this machine instead of in its image")
    .option("--json <path>", "write the run record (status, steps, attempts, times, outputs) as JSON to this file")
    .option("--secrets-file <path>", "secret values: JSON {secret: {key: value}} or dotenv (secret.key=value or key=value)")
    .option("--max-rounds <n>", "most rounds an execWhile loop may run (default 1000)", (v: string) => v as unknown as number)
    .addOption(new Option("--progress <mode>", "progress display").choices(["auto", "live", "plain"]).default("auto"))
    .option("--keep-temp", "keep each step's private folder (its path is printed at the end) for debugging")
    .option("-q, --quiet", "do not show what steps write (a failed step still shows the end of its output)")
    .action(
      guard(async (file: string, flags: RunFlags) => {
        const { parseParamFlags, readSecretsFile, probeRuntime, progress, runWorkflow, RunSetupError } = await loadRun();
        const jobs = flags.jobs !== undefined ? positiveInt("--jobs")(String(flags.jobs)) : undefined;
        const maxRounds = flags.maxRounds !== undefined ? positiveInt("--max-rounds")(String(flags.maxRounds)) : undefined;
        const given = parseParamFlags(flags.param);
        const secrets: SecretValues | undefined = flags.secretsFile !== undefined ? readSecretsFile(resolve(io.cwd, flags.secretsFile)) : undefined;
        const wf = await loadOne(io, file, flags.workflow);
        if (!wf) {
          setCode(1);
          return;
        }
        let container: RunOptions["container"] = "none";
        if (flags.container) {
          const probe = await probeRuntime();
          if (!probe.runtime) {
            io.stderr(
              `couler: error: no usable container runtime (${probe.why}); install or start docker or podman, or pass --no-container to run each step's command directly on this machine\n`,
            );
            setCode(1);
            return;
          }
          container = { runtime: probe.runtime };
        }
        const workDir = flags.keepTemp ? mkdtempSync(join(tmpdir(), "couler-run-")) : undefined;
        const live = flags.progress === "live" || (flags.progress === "auto" && io === processIO && process.stderr.isTTY === true && !process.env.CI);
        const view = progress((t) => io.stderr(t), {
          live,
          quiet: flags.quiet === true,
          nameWidth: nameWidth([...wf.ir.steps, ...(wf.ir.onExit ?? [])]),
          ...(process.stderr.columns ? { columns: process.stderr.columns } : {}),
        });
        const soft = new AbortController();
        const hard = new AbortController();
        const onSignal = () => (soft.signal.aborted ? hard.abort() : soft.abort());
        process.on("SIGINT", onSignal);
        process.on("SIGTERM", onSignal);
        let record;
        try {
          record = await runWorkflow(
            wf.ir,
            {
              params: given,
              container,
              ...(jobs !== undefined ? { concurrency: jobs } : {}),
              ...(secrets ? { secrets } : {}),
              ...(maxRounds !== undefined ? { maxWhileRounds: maxRounds } : {}),
              ...(workDir !== undefined ? { workDir } : {}),
              signal: soft.signal,
              hardSignal: hard.signal,
            },
            view.onEvent,
          );
        } catch (e) {
          if (e instanceof RunSetupError) {
            io.stderr(`couler: error: ${e.message}\n`);
            setCode(1);
            return;
          }
          throw e;
        } finally {
          process.off("SIGINT", onSignal);
          process.off("SIGTERM", onSignal);
        }
        view.finish(record);
        if (workDir !== undefined) io.stderr(`kept step folders in ${workDir}\n`);
        if (flags.json !== undefined) {
          const path = resolve(io.cwd, flags.json);
          writeFileSync(path, `${JSON.stringify(record, null, 2)}\n`);
          io.stderr(`wrote ${displayPath(io, io.cwd, path)}\n`);
        }
        setCode(record.status === "Succeeded" ? 0 : record.interrupted === "interrupted" ? 130 : 1);
      }),
    );

  program
    .command("graph")
    .description("print a workflow's step graph as Mermaid or Graphviz DOT")
    .argument("<file>", "workflow file (.ts)")
    .addOption(new Option("-f, --format <format>", "output format").choices([...GRAPH_FORMATS]).default("mermaid"))
    .option("-w, --workflow <name>", "the workflow to draw, when the file exports several")
    .action(
      guard(async (file: string, flags: { format: GraphFormat; workflow?: string }) => {
        const wf = await loadOne(io, file, flags.workflow);
        if (!wf) {
          setCode(1);
          return;
        }
        const { renderGraph } = await import("../graph/render-graph.js");
        io.stdout(renderGraph(wf.ir, flags.format));
      }),
    );
}
