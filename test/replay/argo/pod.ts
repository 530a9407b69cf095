/**
 * One pod of a container or script template, run as a local process.
 *
 * - argv: `command + args` (workflow/controller/workflowpod.go: the main container as
 *   written; the emissary runs it unchanged); a script template gets the source file appended
 *   after `args` (operator.go executeScript: `mainCtr.Args = append(mainCtr.Args,
 *   common.ExecutorScriptSourcePath)`), `/argo/staging/script`, mapped here to a private file.
 *   No `command`: the image's entrypoint, which cannot run without the image (Error).
 * - Kubernetes expands `$(VAR)` and `$$` in command, args and env values (../kube-expand.ts).
 * - env: the container's `env` (values, `secretKeyRef`s) over the base environment.
 * - `activeDeadlineSeconds`: the pod is stopped and fails (Failed).
 * - result: stdout without one final `\n` (workflow/executor/executor.go CaptureScriptResult),
 *   kept as `outputs.result` only when the calling template references it (operator.go
 *   includeScriptOutput / hasOutputResultRef).
 * - output parameters `valueFrom.path`: the file's text without one final `\n`
 *   (executor.go SaveParameters); a missing file without `default` errors the node (Error).
 */
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { kubeContainer } from "../kube-expand.js";
import { privateDir, runLocal } from "../local.js";
import type { Engine, NodeRes, Obj } from "./node.js";

export const SCRIPT_PATH = "/argo/staging/script";

const trimOne = (s: string) => (s.endsWith("\n") ? s.slice(0, -1) : s);

/** Run the (substituted) template `t` once; `deadline` is a time on the engine clock the pod may not pass. */
export async function runPod(t: Obj, engine: Engine, captureResult: boolean, deadline?: number): Promise<NodeRes> {
  const c: Obj = t.script ?? t.container;
  const name = t.name as string;
  if (t.daemon) return { phase: "Error", template: name, message: "the replay does not run daemons" };
  if (!c.command?.length) return { phase: "Error", template: name, message: "the image's entrypoint cannot run without the image" };
  const argv: string[] = [...c.command, ...(c.args ?? [])];
  if (t.script && String(t.script.source ?? "").length > 0) argv.push(SCRIPT_PATH);
  const envList: { name: string; value: string }[] = [];
  for (const e of (c.env ?? []) as Obj[]) {
    if (e.valueFrom?.secretKeyRef) {
      const v = engine.ctx.secrets[e.valueFrom.secretKeyRef.name]?.[e.valueFrom.secretKeyRef.key];
      if (v === undefined) return { phase: "Error", template: name, message: `secret ${e.valueFrom.secretKeyRef.name} has no key ${e.valueFrom.secretKeyRef.key}` };
      envList.push({ name: e.name, value: v });
    } else envList.push({ name: e.name, value: String(e.value ?? "") });
  }
  // Kubernetes expands env values against earlier ones (and only those); secret values are not expanded.
  const k = kubeContainer(argv, envList.map((e) => (c.env as Obj[]).find((x) => x.name === e.name)?.valueFrom ? { name: e.name, value: e.value.replace(/\$/g, "$$$$") } : e));
  let cwd: string | undefined;
  if (c.workingDir !== undefined) {
    if (!existsSync(c.workingDir) || !statSync(c.workingDir).isDirectory()) return { phase: "Error", template: name, message: `workingDir ${c.workingDir} does not exist here` };
    cwd = c.workingDir;
  }
  const outputs: Obj[] = t.outputs?.parameters ?? [];
  const fresh = outputs.filter((o) => o.valueFrom?.path).map((o) => o.valueFrom.path as string);
  let timeout = t.activeDeadlineSeconds !== undefined ? Number(t.activeDeadlineSeconds) : undefined;
  if (deadline !== undefined) timeout = Math.max(0.001, Math.min(timeout ?? Infinity, deadline - engine.now()));
  const scriptDir = t.script ? privateDir("couler-argo-script-") : undefined;
  if (scriptDir) writeFileSync(join(scriptDir, "script"), String(t.script.source ?? ""));
  const argvRun = k.argv.map((a) => (scriptDir && a === SCRIPT_PATH ? join(scriptDir, "script") : a));
  const r = await runLocal({ argv: argvRun, env: { ...engine.ctx.env, ...k.env }, fresh, ...(timeout !== undefined ? { timeout } : {}), ...(cwd ? { cwd } : {}) });
  const stdout = trimOne(r.stdout);
  // The command is not on this machine (it would be in the image). On Argo the emissary exits 64
  // when the image lacks it (cmd/argoexec/commands/emissary.go: LookPath), so the node Fails;
  // couler run errors such a step. The replay cannot run what the image has: it follows couler
  // run here, and backends/argo/README.md lists the difference.
  if (r.spawnError !== undefined) return { phase: "Error", template: name, message: `could not start: ${r.spawnError}` };
  if (r.timedOut) return { phase: "Failed", template: name, stdout, message: "Pod was active on the node longer than the specified deadline" };
  if (r.exitCode !== 0) return { phase: "Failed", template: name, stdout, message: `exit code ${r.exitCode ?? "signal"}` };
  const params: Record<string, string> = {};
  for (const o of outputs) {
    if (!o.valueFrom?.path) continue;
    try {
      params[o.name] = trimOne(readFileSync(o.valueFrom.path, "utf8"));
    } catch {
      if (o.valueFrom.default === undefined) return { phase: "Error", template: name, stdout, message: `open ${o.valueFrom.path}: no such file or directory` };
      params[o.name] = String(o.valueFrom.default);
    }
  }
  return { phase: "Succeeded", template: name, stdout, outputs: { ...(captureResult ? { result: stdout } : {}), parameters: params } };
}
