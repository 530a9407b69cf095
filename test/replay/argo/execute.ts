/**
 * Running one template call: inputs, retries, the template itself, outputs.
 *
 * - Inputs: `arguments.parameters` by name, else the input's `value`/`default`; a missing one
 *   errors the node (workflow/common/util.go ProcessArgs). The template's text is then
 *   substituted with `inputs.parameters.*` and the workflow's globals.
 * - Retries (workflow/controller/operator.go processNodeRetries): up to `limit` retries;
 *   retryPolicy defaults to OnFailure (RetryPolicyActual): a Failed attempt is retried, an Error
 *   one is not. Backoff: wait `duration * factor^(attempts-1)` after the last attempt; no
 *   retry when now is past first start + `maxDuration`, or when the wait would end past it;
 *   a retry runs with that deadline (`opts.executionDeadline`), which stops it when reached.
 *   Waits are not slept: the replay's clock moves on instead.
 * - Graph templates' `outputs.parameters`: `valueFrom.parameter` (a tag) or
 *   `valueFrom.expression` over the template's scope (getTemplateOutputsFromScope,
 *   workflow/controller/scope.go resolveParameter); a failure errors the node.
 */
import { runPod } from "./pod.js";
import { runGraph } from "./graph.js";
import { type Engine, type NodeRes, type Obj, failedOrError } from "./node.js";
import { evalExpr } from "./expr.js";
import { exprEnv, substitute, substituteDeep, TemplateError } from "./template.js";

export interface Call {
  readonly template: string;
  readonly parameters: ReadonlyMap<string, string>;
  /** Does the calling template reference this call's `outputs.result` (result capture)? */
  readonly captureResult: boolean;
}

const seconds = (d: unknown): number => {
  const s = String(d);
  const m = /^(\d+(?:\.\d+)?)(s|m|h)?$/.exec(s);
  if (!m) throw new TemplateError(`duration ${s}`);
  return Number(m[1]) * (m[2] === "m" ? 60 : m[2] === "h" ? 3600 : 1);
};

/** The scope a template body sees: globals and its inputs. */
function baseScope(engine: Engine, inputs: ReadonlyMap<string, string>): Map<string, string> {
  const s = new Map(engine.globals);
  for (const [k, v] of inputs) s.set(`inputs.parameters.${k}`, v);
  return s;
}

export async function executeCall(call: Call, engine: Engine): Promise<NodeRes> {
  const raw = engine.templates.get(call.template);
  if (!raw) return { phase: "Error", template: call.template, message: `template ${call.template} not found` };
  const inputs = new Map<string, string>();
  for (const p of (raw.inputs?.parameters ?? []) as Obj[]) {
    const v = call.parameters.get(p.name) ?? (p.value !== undefined ? String(p.value) : p.default !== undefined ? String(p.default) : undefined);
    if (v === undefined) return { phase: "Error", template: call.template, message: `inputs.parameters.${p.name} was not supplied` };
    inputs.set(p.name, v);
  }
  const rs: Obj | undefined = raw.retryStrategy;
  const limit = rs ? Number(rs.limit ?? 0) : 0;
  const policy = rs?.retryPolicy ?? "OnFailure";
  const backoff: Obj | undefined = rs?.backoff;
  const start = engine.now();
  const maxEnd = backoff?.maxDuration !== undefined ? start + seconds(backoff.maxDuration) : undefined;
  for (let attempt = 1; ; attempt++) {
    const node = await attemptOnce(raw, inputs, call, engine, attempt > 1 ? maxEnd : undefined);
    if (!failedOrError(node.phase) || !rs) return node;
    const retryOn = policy === "Always" || (policy === "OnFailure" && node.phase === "Failed") || (policy === "OnError" && node.phase === "Error");
    if (!retryOn || attempt > limit) return node;
    if (backoff) {
      if (maxEnd !== undefined && engine.now() > maxEnd) return { ...node, message: "Max duration limit exceeded" };
      const factor = backoff.factor !== undefined ? Number(backoff.factor) : 0;
      const wait = seconds(backoff.duration) * (factor > 0 ? factor ** (attempt - 1) : 1);
      if (maxEnd !== undefined && engine.now() + wait > maxEnd) return { ...node, message: "Backoff would exceed max duration limit" };
      engine.wait(wait);
    }
  }
}

async function attemptOnce(raw: Obj, inputs: ReadonlyMap<string, string>, call: Call, engine: Engine, deadline: number | undefined): Promise<NodeRes> {
  const scope = baseScope(engine, inputs);
  try {
    if (raw.container || raw.script) {
      const t = substituteDeep({ ...raw, steps: undefined, dag: undefined }, scope) as Obj;
      return await runPod(t, engine, call.captureResult, deadline);
    }
    if (raw.suspend) return { phase: "Succeeded", template: raw.name, outputs: { parameters: {} } }; // duration "0": resumes at once (operator.go executeSuspend)
    if (raw.steps || raw.dag) {
      const g = await runGraph(raw, scope, engine);
      if (g.node.phase !== "Succeeded") return g.node;
      const params: Record<string, string> = {};
      for (const o of (raw.outputs?.parameters ?? []) as Obj[]) {
        if (o.valueFrom?.expression !== undefined) {
          const v = evalExpr(String(o.valueFrom.expression), exprEnv(g.scope));
          if (v === null || v === undefined) throw new TemplateError(`output ${o.name}: expression gave nil`);
          params[o.name] = typeof v === "string" ? v : JSON.stringify(v);
        } else if (o.valueFrom?.parameter !== undefined) params[o.name] = substitute(String(o.valueFrom.parameter), g.scope);
      }
      return { ...g.node, outputs: { parameters: params } };
    }
    return { phase: "Error", template: raw.name, message: "a template kind the replay does not run (resource, http, plugin…)" };
  } catch (e) {
    if (e instanceof TemplateError || (e as Error).name === "ExprError") return { phase: "Error", template: raw.name, message: (e as Error).message };
    throw e;
  }
}
