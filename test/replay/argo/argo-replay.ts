/**
 * The Argo replay: runs the emitted Workflow (not the IR) the way the Argo controller and
 * executor run it, each container as a local process (../local.ts). The rules, each with the
 * argoproj/argo-workflows source it follows, are in the modules: pod.ts (argv, env, outputs),
 * execute.ts (inputs, retries, template outputs), graph.ts (steps, dag, depends, loops, the
 * DAG's phase), scope.ts (outputs in scope, aggregates), template.ts (substitution, `when`),
 * expr.ts (the expr-lang subset). This file: the workflow's phase and its exit handler
 * (workflow/controller/operator.go operate: the entry node's phase is the workflow's;
 * Succeeded with a failed onExit node becomes Failed, or Error), and the outcome in IR names.
 */
import YAML from "yaml";
import type { OutputFile } from "../../../backends/backend.js";
import type { Step, WorkflowIR } from "../../../src/ir/types.js";
import type { WorkflowStatus } from "../../../src/run/record.js";
import { irStepNames, NameResolver } from "../../readback/neutral-graph.js";
import type { ItemOutcome, OutcomeStatus, Replay, ReplayContext, RunOutcome, StepOutcome } from "../outcome.js";
import { maskSecrets } from "../../../src/run/inputs.js";
import { executeCall } from "./execute.js";
import type { Engine, NodeRes, Obj } from "./node.js";

const STATUS: Record<NodeRes["phase"], OutcomeStatus> = { Succeeded: "succeeded", Failed: "failed", Error: "failed", Skipped: "skipped", Omitted: "omitted" };
const WF_STATUS: Record<NodeRes["phase"], WorkflowStatus> = { Succeeded: "Succeeded", Skipped: "Succeeded", Omitted: "Succeeded", Failed: "Failed", Error: "Error" };

/** Run the Workflow document of `files`; the outcome keyed by IR step names. */
export async function replayArgo(files: readonly OutputFile[], ir: WorkflowIR, ctx: ReplayContext): Promise<RunOutcome> {
  const docs = files.flatMap((f) => YAML.parseAllDocuments(f.content).map((d) => d.toJS() as Obj));
  const doc = docs.find((d) => ["Workflow", "WorkflowTemplate", "CronWorkflow"].includes(d.kind));
  if (!doc) throw new Error("no Workflow document");
  const spec: Obj = doc.kind === "CronWorkflow" ? doc.spec.workflowSpec : doc.spec;
  const templates = new Map<string, Obj>((spec.templates as Obj[]).map((t) => [t.name, t]));
  const globals = new Map<string, string>();
  // metadata.name of the run: generateName plus Argo's 5 random characters (a fixed suffix here)
  globals.set("workflow.name", doc.metadata.generateName ? `${doc.metadata.generateName}x7k2p` : String(doc.metadata.name));
  for (const p of (spec.arguments?.parameters ?? []) as Obj[]) globals.set(`workflow.parameters.${p.name}`, ctx.params[p.name] ?? String(p.value ?? ""));
  const t0 = Date.now();
  let waited = 0;
  const engine: Engine = { templates, globals, ctx, now: () => (Date.now() - t0) / 1000 + waited, wait: (s) => void (waited += s) };
  const call = (template: string) => executeCall({ template, parameters: new Map(), captureResult: false }, engine);

  const main = await call(spec.entrypoint);
  let status = WF_STATUS[main.phase];
  let exit: NodeRes | undefined;
  if (spec.onExit) {
    globals.set("workflow.status", status);
    exit = await call(spec.onExit);
    if (status === "Succeeded" && (exit.phase === "Failed" || exit.phase === "Error")) status = exit.phase === "Failed" ? "Failed" : "Error";
  }
  const names = new NameResolver(irStepNames(ir));
  // outputs are compared as couler run records them: secret values masked (src/run/inputs.ts maskSecrets)
  const secrets = new Set(Object.values(ctx.secrets).flatMap((m) => Object.values(m)).filter((v) => v !== ""));
  const mask = (o: Record<string, StepOutcome>) => JSON.parse(JSON.stringify(o), (k, v) => (typeof v === "string" && k !== "status" ? maskSecrets(v, secrets) : v)) as Record<string, StepOutcome>;
  return {
    status,
    steps: mask(outcomes(main, ir.steps, names)),
    ...(ir.onExit?.length ? { onExit: mask(outcomes(exit ?? { phase: "Omitted" }, ir.onExit, names)) } : {}),
  };
}

/** Through wrapper templates (a loop's parallelism limit, a fan-in item template) to the call of the step itself. */
function inner(n: NodeRes): NodeRes {
  let cur = n;
  while (!cur.items && cur.calls?.size === 1) cur = [...cur.calls.values()][0]!;
  return cur;
}

function outputsOf(n: NodeRes): Record<string, string> | undefined {
  if (n.phase !== "Succeeded" || n.stdout === undefined) return undefined;
  return { result: n.stdout, ...(n.outputs?.parameters ?? {}) };
}

function stepOutcome(node: NodeRes | undefined, s: Step): StepOutcome {
  if (!node) return { status: "omitted" };
  const n = s.kind === "while" ? node : inner(node);
  if (s.loop) {
    const items: ItemOutcome[] = (n.items ?? []).map((i) => {
      const leaf = inner(i);
      const o = outputsOf(leaf);
      return { status: STATUS[i.phase], ...(o ? { outputs: o } : {}) };
    });
    return { status: STATUS[node.phase], items };
  }
  const o = s.kind === "while" ? undefined : outputsOf(n);
  return { status: STATUS[node.phase], ...(o ? { outputs: o } : {}) };
}

function outcomes(graph: NodeRes, steps: readonly Step[], names: NameResolver): Record<string, StepOutcome> {
  const byIr = new Map<string, NodeRes>();
  for (const [task, n] of graph.calls ?? []) {
    const ir = names.tryResolve(task);
    if (ir !== undefined) byIr.set(ir, n);
  }
  return Object.fromEntries(steps.map((s) => [s.name, stepOutcome(byIr.get(s.name), s)]));
}

export const argoReplay: Replay = {
  target: "argo",
  run: replayArgo,
  knownDifferences: [
    {
      match: /output result: .*\\\\u00(3c|3e|26)/,
      warning: /fan-in list of .* is JSON written by Argo/,
      why: "fan-in lists are JSON written by Go (HTML characters escaped, object keys sorted)",
    },
    {
      match: /^(workflow: Succeeded by couler run, Failed on argo|step "[^"]+"(\[\d+\])?: \w+ by couler run, (failed|omitted) on argo)$/,
      warning: /Argo also stops a retry attempt that is still running when the backoff maxDuration/,
      why: "Argo stops a running retry attempt at the backoff maxDuration",
    },
    {
      match: /^workflow: (Error by couler run, Failed on argo|Failed by couler run, Error on argo)$/,
      warning: /can end in error .*Argo then ends the workflow Failed or Error by its own rules/,
      why: "Argo tells Error from Failed by its own rules (steps.go executeSteps, dag.go assessDAGPhase)",
    },
    {
      match: /^step "[^"]+": skipped by couler run, succeeded on argo$/,
      warning: /fans out with a condition: when every item is skipped, Argo marks the step Succeeded/,
      why: "a TaskGroup whose items were all skipped is Succeeded (dag.go executeDAGTask)",
    },
    {
      // what follows from it: the steps the warning names as waiting on that step, the workflow's status, the exit handler's view of it
      match: /^(step "[^"]+"(\[\d+\])?: \w+ by couler run, \w+ on argo|workflow: \w+ by couler run, \w+ on argo|exit step "[^"]+" output result: .*status=.*)$/,
      warning: /fans out with a condition: when every item is skipped, Argo marks the step Succeeded .*; then the steps after it \(/,
      covers: (diff, warning) => {
        const step = /^step "([^"]+)"/.exec(diff)?.[1];
        if (step === undefined) return true;
        const after = /the steps after it \(([^)]*)\)/.exec(warning)?.[1] ?? "";
        return after.split(", ").includes(`"${step}"`);
      },
      why: "steps after a map whose items were all skipped see it Succeeded, not skipped (dag.go executeDAGTask)",
    },
    {
      match: /output result: .*x7k2p/,
      warning: /workflow\.name is the name of the run/,
      why: "on Argo, workflow.name is the generated name of the run",
    },
  ],
};
