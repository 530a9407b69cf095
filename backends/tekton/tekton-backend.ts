/**
 * Tekton backend: a `Pipeline` (tekton.dev/v1) with one task per step, and a `PipelineRun`
 * that starts it, as one multi-document YAML file per workflow.
 *
 * Layout: each step becomes a pipeline task whose Task is embedded (`taskSpec`, default) or
 * a separate `Task` document (`tasks=separate`, referenced by `taskRef`). Order in the file:
 * Tasks (in step order), the Pipeline, the PipelineRun. Every value a step reads reaches it
 * as a Task param bound by the pipeline task (`$(params.x)`, `$(tasks.t.results.r)`,
 * `$(context.pipelineRun.name)`), so both layouts behave the same. Dependencies on another
 * step's outcome read its `couler-outcome` result (./status-deps.ts); exit handlers become
 * `finally` tasks guarded by `$(tasks.status)` when expressions.
 */
import type { Backend, CompileContext, OutputFile } from "../backend.js";
import { isPodStep, refsOfValue, topoOrder, valuesOfCondition } from "../../src/ir/graph.js";
import type { ContainerStep, Loc, Ref, ScriptStep, Step, Value, WorkflowIR } from "../../src/ir/types.js";
import { NameTable } from "../common/names.js";
import { tektonCapabilities as capabilities } from "./capabilities.js";
import { PARAM_NAME, PIPELINE_NAME, RESULT_NAME, SIDECAR_NAME, STEP_NAME, TASK_DOC_NAME, TASK_NAME } from "./names.js";
import { toYamlDocuments } from "../common/yaml.js";
import { DOLLAR_ENV, kubeLiteral, STATUS_ENV, statusValue, tektonInert } from "./escape.js";
import { conditionToWhen, type Lowered, type WhenAtom } from "./when.js";
import { OUTCOME_RESULT, outcomeScript, planStatusDeps, statusWarnings } from "./status-deps.js";
import { wrapperScript } from "./wrapper.js";
import { withConditionHelpers } from "./condition-helpers.js";
import { ARTIFACT_WS, buildPipelineRun, durationText } from "./pipeline-run.js";

// Capabilities: ./capabilities.ts; name rules: ./names.ts.


type Json = Record<string, unknown>;
type PodStep = ContainerStep | ScriptStep;

/** A Task param that carries one reference into the step. */
interface BoundParam {
  readonly name: string;
  /** The pipeline-level value bound to it; absent for matrix params. */
  readonly value?: string;
  /** A fan-in list (Task param of type array). */
  readonly array?: boolean;
}

interface TaskInfo {
  readonly step: PodStep;
  readonly name: string;
  final: boolean;
  runAfter: string[];
  statusWhen: WhenAtom[];
  /** Result names: stdout (when some step reads it) and each declared output (key: `step\noutput`). */
  stdoutResult?: string;
  readonly outputResults: Map<string, string>;
  /** An exit handler that is a sequence of steps: one finally Task running them in order. */
  chain?: PodStep[];
  /** Results declared `type: array` (a non-fanned-out producer feeding a matrix). */
  readonly arrayResults: Set<string>;
  /** Publishes its outcome as result `couler-outcome` (./status-deps.ts). */
  observed?: { readonly handled: boolean; readonly retries: number };
}


function refKey(r: Ref): string {
  return JSON.stringify(r);
}

class TektonCompiler {
  private readonly names: NameTable;
  private readonly pipelineName: string;
  private readonly tasks = new Map<string, TaskInfo>();
  private readonly separate: boolean;
  private readonly withRun: boolean;
  private readonly matrixMax: number;
  /** Workflow params fed to a matrix as an array. */
  private readonly arrayParams = new Set<string>();
  private readonly diag;

  constructor(
    private readonly wf: WorkflowIR,
    private readonly ctx: CompileContext,
    /** Steps added to evaluate conditions (their tiny stdout needs no size warning). */
    private readonly helpers: ReadonlySet<string> = new Set(),
  ) {
    this.diag = ctx.diagnostics;
    this.names = new NameTable(TASK_NAME, ctx.diagnostics);
    this.pipelineName = new NameTable(PIPELINE_NAME, ctx.diagnostics).add(wf.name, wf.loc);
    this.separate = ctx.options.tasks === "separate";
    this.withRun = ctx.options.pipelinerun !== "false" && !wf.config.reusable;
    const max = Number(ctx.options["max-matrix"] ?? "256");
    if (!Number.isInteger(max) || max < 1) {
      this.diag.error("invalid-option", `option max-matrix must be a positive whole number, got ${JSON.stringify(ctx.options["max-matrix"])}`, wf.loc);
    }
    this.matrixMax = Number.isInteger(max) && max > 0 ? max : 256;
  }

  private error(loc: Loc, message: string): void {
    this.diag.error("unsupported", `${message} (target tekton)`, loc);
  }

  compile(): OutputFile[] {
    const wf = this.wf;
    const steps = [...wf.steps, ...(wf.onExit ?? [])];
    for (const s of steps) {
      if (!isPodStep(s)) {
        // Refused by the capability table before compile; nothing to lower.
        continue;
      }
      this.tasks.set(s.name, {
        step: s,
        name: this.names.add(s.name, s.loc),
        final: false,
        runAfter: [],
        statusWhen: [],
        outputResults: new Map(),
        arrayResults: new Set(),
      });
    }
    this.checkParams();
    this.placeMain();
    this.placeExitHandler();
    this.diag.warning(
      "error-status",
      "Tekton has no Error status: on target tekton a step that cannot start (or does not write a declared output) fails its TaskRun and the PipelineRun ends Failed, where couler run ends Error",
      wf.loc,
    );
    this.planResults(steps);
    for (const t of new Set(this.tasks.values())) {
      if (t.step.loop && t.step.outputArtifacts?.some((a) => !a.store)) {
        this.error(t.step.loc, `step "${t.step.name}" fans out and keeps an artifact: on Tekton every instance would write the same place in the artifacts workspace`);
      }
    }
    const infos = [...new Set(steps.filter((s) => this.tasks.has(s.name)).map((s) => this.tasks.get(s.name)!))];
    const built = infos.map((t) => this.pipelineTask(t));
    const docs: Json[] = [];
    const meta = (name: string | undefined, generate?: string): Json => {
      const m: Json = {};
      if (name !== undefined) m.name = name;
      if (generate !== undefined) m.generateName = generate;
      const c = wf.config;
      if (c.namespace !== undefined) m.namespace = c.namespace;
      if (c.labels) m.labels = { ...c.labels };
      if (c.annotations) m.annotations = { ...c.annotations };
      return m;
    };
    const taskDocNames = new NameTable(TASK_DOC_NAME, this.diag);
    const pipelineTasks: Json[] = [];
    const finallyTasks: Json[] = [];
    for (const b of built) {
      const { task, spec, info } = b;
      if (this.separate) {
        const docName = taskDocNames.add(`${this.pipelineName}-${info.name}`, info.step.loc);
        docs.push({ apiVersion: "tekton.dev/v1", kind: "Task", metadata: meta(docName), spec });
        task.taskRef = { name: docName };
      } else {
        task.taskSpec = spec;
      }
      (info.final ? finallyTasks : pipelineTasks).push(task);
    }
    const pspec: Json = {};
    if (wf.params.length) {
      pspec.params = wf.params.map((p) => {
        const out: Json = { name: p.name, type: this.arrayParams.has(p.name) ? "array" : "string" };
        if (p.description !== undefined) out.description = p.description;
        if (p.default !== undefined) out.default = this.arrayParams.has(p.name) ? this.arrayDefault(p.name, p.default, p.loc) : p.default;
        return out;
      });
    }
    const volumes = wf.config.volumes ?? [];
    const wsDecls = volumes.map((v) => ({ name: v.name }));
    if (this.usesArtifacts()) {
      if (volumes.some((v) => v.name === ARTIFACT_WS)) {
        this.error(wf.loc, `volume "${ARTIFACT_WS}" has the name the tekton backend gives the workspace that carries artifacts; rename the volume`);
      }
      wsDecls.push({ name: ARTIFACT_WS });
    }
    if (wsDecls.length) pspec.workspaces = wsDecls;
    if (pipelineTasks.length === 0) {
      this.error(wf.loc, "a Tekton Pipeline needs at least one task outside finally, but every step here runs in finally");
    }
    pspec.tasks = pipelineTasks;
    if (finallyTasks.length) pspec.finally = finallyTasks;
    docs.push({ apiVersion: "tekton.dev/v1", kind: "Pipeline", metadata: meta(this.pipelineName), spec: pspec });
    const run = this.pipelineRun(meta(undefined, `${this.pipelineName}-`));
    if (run) docs.push(run);
    return [{ path: `${this.pipelineName}.yaml`, content: toYamlDocuments(docs) }];
  }

  /**
   * Exit handler steps become finally tasks, which all start together: steps that wait for
   * each other are only expressible as a plain sequence, run as the steps of one Task.
   */
  private placeExitHandler(): void {
    const exit = (this.wf.onExit ?? []).filter(isPodStep);
    for (const s of exit) this.tasks.get(s.name)!.final = true;
    if (!exit.some((s) => s.depends)) return;
    const order = topoOrder(exit);
    const byName = new Map(exit.map((s) => [s.name, s]));
    const chain = order.map((n) => byName.get(n)!);
    const isChain =
      chain.length === exit.length &&
      chain.every((s, i) =>
        i === 0 ? !s.depends : s.depends?.kind === "on" && s.depends.status === "ok" && s.depends.step === chain[i - 1]!.name,
      );
    if (!isChain) {
      for (const s of exit.filter((x) => x.depends)) {
        this.error(
          s.loc,
          `exit handler step "${s.name}" waits for another exit handler step in a way that is not a plain sequence: exit handlers become finally tasks, which all start together and cannot wait for each other`,
        );
      }
      return;
    }
    const first = chain[0]!;
    const names = new Set(chain.map((s) => s.name));
    for (const s of chain) {
      const why = s.loop
        ? "a fan-out"
        : s.outputArtifacts?.length || s.inputArtifacts?.length
          ? "artifacts"
        : s.retry
          ? "retries"
          : s.volumeMounts?.length
            ? "volume mounts"
            : s.sidecars?.length
              ? "sidecars"
              : s.nodeSelector || s.tolerations?.length || s.affinity
                ? "node placement"
                : JSON.stringify(s.when) !== JSON.stringify(first.when)
                  ? "a condition of its own"
                  : this.stepValues(s).some((v) => refsOfValue(v).some((r) => (r.kind === "result" || r.kind === "output") && names.has(r.step)))
                    ? "a value from an earlier exit handler step"
                    : undefined;
      if (why) {
        this.error(
          s.loc,
          `exit handler step "${s.name}" is part of a sequence, which runs as the steps of one finally Task on Tekton, and a step there cannot have ${why}`,
        );
      }
    }
    const shared: TaskInfo = { ...this.tasks.get(first.name)!, chain };
    for (const s of chain) this.tasks.set(s.name, shared);
  }

  // ------------------------------------------------------------ params

  private checkParams(): void {
    for (const p of this.wf.params) {
      if (p.default !== undefined && /\$[($]/.test(p.default)) {
        this.error(
          p.loc,
          `parameter "${p.name}" has a default with "$(" or "$$": Tekton substitutes $(...) inside parameter values and Kubernetes expands $(NAME) and $$ in them, so the text would not arrive unchanged; pass such text as a literal in the step instead`,
        );
      }
    }
    // Params that feed a matrix become arrays.
    for (const t of this.tasks.values()) {
      const l = t.step.loop;
      if (l?.kind === "from" && l.source.kind === "param") this.arrayParams.add(l.source.name);
    }
  }

  private arrayDefault(name: string, text: string, loc: Loc): string[] {
    try {
      const v: unknown = JSON.parse(text);
      if (Array.isArray(v) && v.every((x) => typeof x === "string")) return v as string[];
    } catch {
      // reported below
    }
    this.error(loc, `parameter "${name}" feeds a fan-out, so on Tekton it is an array parameter; its default must be a JSON list of strings, got ${JSON.stringify(text)}`);
    return [];
  }

  // ------------------------------------------------------------ placement: tasks or finally

  /** Decide how each main step's dependencies are expressed (./status-deps.ts). */
  private placeMain(): void {
    const { plan, errors } = planStatusDeps(
      this.wf,
      (n) => this.tasks.get(n)!.name,
      (n) => this.tasks.has(n),
    );
    for (const e of errors) this.error(this.tasks.get(e.step)?.step.loc ?? this.wf.loc, e.message);
    for (const [name, t] of this.tasks) {
      if (t.final) continue;
      const fin = plan.final.get(name);
      if (fin) {
        t.final = true;
        t.statusWhen = fin;
        continue;
      }
      t.runAfter = (plan.runAfter.get(name) ?? []).map((p) => this.tasks.get(p)!.name);
      t.statusWhen = [...(plan.guards.get(name) ?? [])];
      const o = plan.observed.get(name);
      if (o) t.observed = { handled: o.handled, retries: t.step.retry?.limit ?? 0 };
    }
    statusWarnings(this.wf, plan, (n) => this.tasks.get(n), this.diag);
  }

  // ------------------------------------------------------------ results

  /** Which results each producer declares, and which of them are arrays. */
  private planResults(steps: readonly Step[]): void {
    for (const t of this.tasks.values()) {
      const table = new NameTable(RESULT_NAME, this.diag);
      for (const st of t.chain ?? [t.step]) {
        for (const o of st.outputs ?? []) {
          if (o.path === undefined) continue;
          t.outputResults.set(`${st.name}\n${o.name}`, table.add(o.name, o.loc));
        }
      }
    }
    const stringUse = new Set<string>();
    const arrayUse = new Set<string>();
    const key = (step: string, r: string) => `${step}\n${r}`;
    for (const s of steps) {
      const refs: Ref[] = [];
      if (isPodStep(s)) {
        for (const v of this.stepValues(s)) refsOfValue(v, refs);
      }
      for (const v of valuesOfCondition(s.when)) refsOfValue(v, refs);
      for (const r of refs) if (r.kind === "result") this.ensureStdout(r.step);
      if (s.loop?.kind === "from" && s.loop.source.kind === "result") this.ensureStdout(s.loop.source.step);
      for (const r of refs) {
        if (r.kind === "result" || r.kind === "output") stringUse.add(key(r.step, r.kind === "result" ? "" : r.output));
      }
      if (s.loop?.kind === "from" && s.loop.source.kind !== "param") {
        const src = s.loop.source;
        arrayUse.add(key(src.step, src.kind === "result" ? "" : src.output));
      }
    }
    for (const k of arrayUse) {
      const [step, out] = k.split("\n") as [string, string];
      const t = this.tasks.get(step);
      if (!t || t.step.loop) continue; // a fanned-out producer's string results are gathered into arrays by Tekton
      const r = out === "" ? t.stdoutResult : t.outputResults.get(`${step}\n${out}`);
      if (r === undefined) continue;
      if (stringUse.has(k)) {
        this.error(
          t.step.loc,
          `${out === "" ? "the result" : `output "${out}"`} of step "${step}" is both fanned out over and read as text; on Tekton a result is either an array (for a matrix) or a string, so write two outputs`,
        );
      }
      t.arrayResults.add(r);
    }
  }

  private ensureStdout(step: string): void {
    const t = this.tasks.get(step);
    if (!t || t.stdoutResult !== undefined) return;
    const used = new Set(t.outputResults.values());
    t.stdoutResult = ["result", "stdout", "stdout-result"].find((n) => !used.has(n)) ?? "couler-stdout";
    if (this.helpers.has(step)) return;
    this.diag.warning(
      "result-size",
      `the stdout of step "${step}" is kept as a Tekton result, and all results of a TaskRun share a 4096-byte limit by default: a larger stdout fails the task on target tekton (raise it with the results-from: sidecar-logs feature flag, or write large data to a volume)`,
      t.step.loc,
    );
  }

  private stepValues(s: PodStep): Value[] {
    const vs: Value[] = [...(s.command ?? []), ...(s.args ?? []), ...(s.env ?? []).map((e) => e.value)];
    for (const sc of s.sidecars ?? []) vs.push(...(sc.command ?? []), ...(sc.args ?? []), ...(sc.env ?? []).map((e) => e.value));
    return vs;
  }

  // ------------------------------------------------------------ values

  /** A reference at pipeline level (pipeline task params, when expressions, matrix), for `consumer`. */
  private pipelineRef(r: Ref, consumer: TaskInfo): Lowered<string> {
    switch (r.kind) {
      case "param":
        if (this.arrayParams.has(r.name)) {
          return { ok: false, why: `parameter "${r.name}" feeds a fan-out, so on Tekton it is an array and cannot also be read as text` };
        }
        return { ok: true, value: `$(params.${r.name})` };
      case "workflow":
        if (r.field === "name") return { ok: true, value: "$(context.pipelineRun.name)" };
        if (!consumer.final) return { ok: false, why: "the workflow status is only known in exit handlers (Tekton finally tasks)" };
        return { ok: true, value: "$(tasks.status)" };
      case "item":
        return { ok: false, why: "the current item of a fan-out is not known to a when expression: Tekton evaluates when before fanning a matrix out" };
      case "result":
      case "output": {
        const p = this.tasks.get(r.step);
        if (!p) return { ok: false, why: `step "${r.step}" has no Tekton task` };
        if (p.final) return { ok: false, why: `step "${r.step}" runs in Tekton's finally section, whose results no task can read` };
        if (p.step.loop) {
          return {
            ok: false,
            why: `step "${r.step}" fans out: Tekton gathers a matrix task's results only as an array, which a step cannot read as the JSON list text (a fan-out over it is fine)`,
          };
        }
        const res = r.kind === "result" ? p.stdoutResult : p.outputResults.get(`${r.step}\n${r.output}`);
        if (res === undefined) return { ok: false, why: `step "${r.step}" has no such output` };
        if (p.arrayResults.has(res)) return { ok: false, why: `this result of step "${r.step}" is an array (it feeds a fan-out)` };
        return { ok: true, value: `$(tasks.${p.name}.results.${res})` };
      }
    }
  }

  /** A value at pipeline level: literals must hold no Tekton variable syntax. */
  private pipelineValue(v: Value, consumer: TaskInfo): Lowered<string> {
    const parts = typeof v === "string" ? [v] : v.kind === "concat" ? v.parts : [v];
    let out = "";
    for (const p of parts) {
      if (typeof p === "string") {
        if (!tektonInert(p)) {
          return { ok: false, why: `the text ${JSON.stringify(p)} holds Tekton variable syntax "$(…)", which Tekton would substitute in a when expression` };
        }
        out += p;
      } else {
        const r = this.pipelineRef(p, consumer);
        if (!r.ok) return r;
        out += r.value;
      }
    }
    return { ok: true, value: out };
  }

  // ------------------------------------------------------------ one task

  private pipelineTask(info: TaskInfo): { task: Json; spec: Json; info: TaskInfo } {
    // The step being built (the first of an exit-handler chain, then each in turn).
    let s: PodStep = info.step;
    const task: Json = { name: info.name };
    const params = new Map<string, BoundParam>();
    const paramNames = new Set<string>();
    // Matrix params come first: the matrix binds them by these exact names. Escaped item
    // values are decoded by Kubernetes in the step, like any other escaped literal.
    const matrix = this.matrix(info, paramNames);
    let needsDollar = JSON.stringify(matrix?.include ?? matrix?.params ?? []).includes(`$(${DOLLAR_ENV})`);
    let needsStatus = false;

    const bind = (r: Ref): string => {
      const k = refKey(r);
      const have = params.get(k);
      if (have) return have.name;
      if (r.kind === "item") {
        const n = r.index !== undefined ? `item-${r.index}` : "item";
        if (!s.loop) this.error(s.loc, `step "${s.name}" reads a fan-out item but does not fan out`);
        else if (s.loop.kind === "items") {
          const cols = s.loop.items[0]?.length ?? 1;
          if (r.field !== undefined) this.error(s.loc, `step "${s.name}" reads field "${r.field}" of a static item, which has no fields`);
          else if (r.index === undefined && cols > 1) {
            this.error(s.loc, `step "${s.name}" reads a whole item of ${cols} zipped lists; on Tekton read each list's value (index) separately`);
          }
        } else if (r.field !== undefined || r.index !== undefined) {
          this.error(
            s.loc,
            `step "${s.name}" reads ${r.field !== undefined ? `field "${r.field}"` : `index ${r.index}`} of a run-time item: a Tekton matrix fans out over a list of strings only (objects and rows have no form)`,
          );
        }
        const name = s.loop?.kind === "items" && (s.loop.items[0]?.length ?? 1) > 1 ? n : "item";
        params.set(k, { name });
        return name;
      }
      const base =
        r.kind === "param"
          ? r.name
          : r.kind === "workflow"
            ? `workflow-${r.field}`
            : `${this.tasks.get(r.step)?.name ?? r.step}-${r.kind === "result" ? "result" : r.output}`;
      const safe = PARAM_NAME.test(base) ? base : `v-${base.replace(/[^-A-Za-z0-9_]+/g, "-")}`;
      let name = safe;
      for (let i = 2; paramNames.has(name); i++) name = `${safe}-${i}`;
      paramNames.add(name);
      const value = this.pipelineRef(r, info);
      if (!value.ok) this.error(s.loc, `step "${s.name}" cannot read this value: ${value.why}`);
      params.set(k, { name, value: value.ok ? value.value : "" });
      return name;
    };

    /** A fan-in list: an array param bound to Tekton's gathered results of a matrix task. */
    const bindArray = (r: Ref, value: string): string => {
      const base = `${this.tasks.get((r as { step: string }).step)?.name ?? "fan-in"}-${r.kind === "result" ? "result" : (r as { output: string }).output}`;
      const safe = PARAM_NAME.test(base) ? base : `v-${base.replace(/[^-A-Za-z0-9_]+/g, "-")}`;
      let name = safe;
      for (let i = 2; paramNames.has(name); i++) name = `${safe}-${i}`;
      paramNames.add(name);
      params.set(`array:${refKey(r)}`, { name, value, array: true });
      return name;
    };

    /** A value inside a command, arg or env value (Kubernetes expands `$(NAME)` there). */
    const kube = (v: Value): string => {
      const parts = typeof v === "string" ? [v] : v.kind === "concat" ? v.parts : [v];
      return parts
        .map((p, i) => {
          if (typeof p !== "string") {
            if (p.kind === "workflow" && p.field === "status") {
              needsStatus = true;
              return statusValue(bind(p));
            }
            return `$(params.${bind(p)})`;
          }
          const out = kubeLiteral(p, i === parts.length - 1);
          if (out !== p) needsDollar = true;
          return out;
        })
        .join("");
    };
    const literal = (text: string, what: string): string => {
      if (!tektonInert(text)) {
        this.error(s.loc, `the ${what} of step "${s.name}" holds Tekton variable syntax "$(…)", which Tekton would substitute there`);
      }
      return text;
    };

    const matrixDollar = needsDollar;
    const buildStep = (st: PodStep, stepName: string): { step: Json; sidecars: Json[] } => {
      s = st;
      needsDollar = st === info.step && matrixDollar;
      needsStatus = false;
      // ---- the step
      const step: Json = { name: stepName, image: literal(s.image, "image") };
      if (s.imagePullPolicy) step.imagePullPolicy = s.imagePullPolicy;
      if (s.workingDir !== undefined) step.workingDir = literal(s.workingDir, "working directory");
      const outputs = (s.outputs ?? []).filter((o) => o.path !== undefined).map((o) => ({ path: o.path!, result: info.outputResults.get(`${s.name}\n${o.name}`)! }));
      const stdoutResult = s === info.step ? info.stdoutResult : undefined;
      const artifacts = this.artifactsOf(info, s);
      // The words the wrapper passes to the program: command and args (container), args (script).
      const programWords: readonly Value[] = s.kind === "script" ? (s.args ?? []) : [...(s.command ?? []), ...(s.args ?? [])];
      const fanIn = this.fanIn(s, programWords);
      const capture = stdoutResult !== undefined || outputs.length > 0 || fanIn !== undefined || artifacts !== undefined;
      let fanInParam: string | undefined;
      if (fanIn) {
        fanInParam = bindArray(fanIn.ref, fanIn.value);
      }
      const words = (): string[] => {
        const out = programWords.map((w, i) => (fanIn?.positions.includes(i) ? "" : kube(w)));
        if (fanInParam !== undefined) out.push(`$(params.${fanInParam}[*])`);
        return out;
      };
      const wrap = (source?: { text: string; interpreter: string[] }) =>
        wrapperScript({
          ...(source ? { source } : {}),
          ...(stdoutResult !== undefined ? { stdoutResult } : {}),
          ...(fanIn ? { fanIn: { words: programWords.length, positions: fanIn.positions } } : {}),
          ...(artifacts ? { artifacts } : {}),
          outputs,
        });
      if (s.kind === "script") {
        const interp: string[] = [];
        for (const c of s.command) {
          if (typeof c === "string") interp.push(c);
          else this.error(s.loc, `the interpreter command of script step "${s.name}" must be literal text on tekton (it becomes part of the script)`);
        }
        const bang = shebang(interp, s.source);
        step.script = !capture && bang !== undefined ? `${bang}\n${s.source}` : wrap({ text: s.source, interpreter: interp });
        const args = words();
        if (args.length) step.args = args;
      } else if (capture) {
        if (!s.command?.length) {
          this.error(
            s.loc,
            `step "${s.name}" has outputs, artifacts, a read stdout or a fan-in list but no command: on Tekton a wrapper must start the program to handle them, and it cannot start the image's own entrypoint; give the step a command`,
          );
        }
        step.script = wrap();
        step.args = words();
      } else {
        if (s.command?.length) step.command = s.command.map(kube);
        if (s.args?.length) step.args = s.args.map(kube);
      }
      const env: Json[] = [];
      for (const e of s.env ?? []) env.push({ name: e.name, value: kube(e.value) });
      for (const e of s.secretEnv ?? []) env.push({ name: e.name, valueFrom: { secretKeyRef: { name: e.secret, key: e.key } } });
      if (s.resources) {
        const r: Json = {};
        if (s.resources.requests) r.requests = { ...s.resources.requests };
        if (s.resources.limits) r.limits = { ...s.resources.limits };
        step.computeResources = r;
      }
      if (s.securityContext) step.securityContext = { ...s.securityContext };

      // ---- sidecars
      const sidecars: Json[] = [];
      const sidecarNames = new NameTable(SIDECAR_NAME, this.diag);
      for (const sc of s.sidecars ?? []) {
        const c: Json = { name: sidecarNames.add(sc.name, s.loc), image: literal(sc.image, `sidecar "${sc.name}" image`) };
        if (sc.command?.length) c.command = sc.command.map(kube);
        if (sc.args?.length) c.args = sc.args.map(kube);
        const scEnv = (sc.env ?? []).map((e) => ({ name: e.name, value: kube(e.value) }));
        if (scEnv.length) c.env = scEnv;
        sidecars.push(c);
        if (s.volumeMounts?.length && !sc.mirrorVolumeMounts) {
          this.diag.warning(
            "dropped",
            `sidecar "${sc.name}" of step "${s.name}" does not mirror the step's volume mounts, but on target tekton every sidecar sees the Task's workspaces`,
            s.loc,
          );
        }
      }
      const dollar = () => ({ name: DOLLAR_ENV, value: "$" });
      if (needsDollar) {
        if ((s.env ?? []).some((e) => e.name === DOLLAR_ENV) || (s.secretEnv ?? []).some((e) => e.name === DOLLAR_ENV)) {
          this.error(s.loc, `step "${s.name}" defines env var ${DOLLAR_ENV}, which the tekton backend needs to keep "$" literal; rename it`);
        }
        env.unshift(dollar());
        for (const c of sidecars) c.env = [dollar(), ...((c.env as Json[] | undefined) ?? [])];
      }
      if (needsStatus) {
        const taken = [...(s.env ?? []), ...(s.secretEnv ?? [])].find((e) => STATUS_ENV.some((x) => x.name === e.name));
        if (taken) this.error(s.loc, `step "${s.name}" defines env var ${taken.name}, which the tekton backend needs to read the workflow status; rename it`);
        const status = () => STATUS_ENV.map((e) => ({ ...e }));
        env.unshift(...status());
        for (const c of sidecars) c.env = [...status(), ...((c.env as Json[] | undefined) ?? [])];
      }
      if (env.length) step.env = env;
      if (info.chain && st.timeout !== undefined) step.timeout = durationText(st.timeout);
      return { step, sidecars };
    };
    const chain = info.chain ?? [info.step];
    const stepNames = new NameTable(STEP_NAME, this.diag);
    const builtSteps = chain.map((st) => buildStep(st, info.chain ? stepNames.add(st.name, st.loc) : "main"));
    if (info.observed) {
      // The program's failure is recorded, not fatal; the next step publishes the outcome (./status-deps.ts).
      builtSteps[0]!.step.onError = "continue";
      builtSteps.push({
        step: { name: "couler-outcome", image: this.ctx.options["condition-image"] ?? "busybox:1.36", script: outcomeScript(info.observed.handled, info.observed.retries) },
        sidecars: [],
      });
    }
    s = info.step;
    const sidecars = builtSteps.flatMap((b) => b.sidecars);

    // ---- workspaces (volumes)
    const taskWorkspaces: Json[] = [];
    const bindings: Json[] = [];
    const wsNames = new Set<string>();
    for (const m of s.volumeMounts ?? []) {
      let n = m.volume;
      for (let i = 2; wsNames.has(n); i++) n = `${m.volume}-${i}`;
      wsNames.add(n);
      const decl: Json = { name: n, mountPath: literal(m.mountPath, "mount path") };
      if (m.readOnly) decl.readOnly = true;
      taskWorkspaces.push(decl);
      const b: Json = { name: n, workspace: m.volume };
      if (m.subPath !== undefined) b.subPath = literal(m.subPath, "volume subPath");
      bindings.push(b);
    }

    if (chain.some((st) => this.artifactsOf(info, st))) {
      taskWorkspaces.push({ name: ARTIFACT_WS });
      bindings.push({ name: ARTIFACT_WS, workspace: ARTIFACT_WS });
    }

    // ---- the pipeline task
    const boundParams = [...params.values()].filter((p) => p.value !== undefined);
    if (boundParams.length) task.params = boundParams.map((p) => ({ name: p.name, value: p.value }));
    if (matrix) task.matrix = matrix;
    if (!info.final && info.runAfter.length) task.runAfter = [...new Set(info.runAfter)].sort();
    const when: WhenAtom[] = [...info.statusWhen];
    if (s.when) {
      const w = conditionToWhen(
        s.when,
        // The status alone is compared through the status mapper below; inside other text it
        // would be Tekton's raw value (Completed where the IR says Succeeded).
        (v) =>
          typeof v !== "string" && v.kind === "concat" && v.parts.some((p) => typeof p !== "string" && p.kind === "workflow" && p.field === "status")
            ? { ok: false, why: "the workflow status can only be compared whole with a literal status on Tekton ($(tasks.status) reads Completed where the workflow succeeded with skipped tasks)" }
            : this.pipelineValue(v, info),
        (lit) =>
          lit === "Succeeded"
            ? { ok: true, value: ["Succeeded", "Completed"] }
            : lit === "Failed"
              ? { ok: true, value: ["Failed"] }
              : { ok: false, why: `the workflow status "${lit}" has no Tekton counterpart: Tekton reports Succeeded, Completed, Failed or None (errors count as Failed)` },
      );
      if (w.ok) when.push(...w.value);
      else this.error(s.loc, `the condition of step "${s.name}" cannot be expressed: ${w.why}`);
    }
    if (when.length) task.when = when.map((a) => ({ input: a.input, operator: a.operator, values: [...a.values] }));
    if (s.retry) task.retries = s.retry.limit;
    if (s.timeout !== undefined && !info.chain) task.timeout = durationText(s.timeout);
    if (bindings.length) task.workspaces = bindings;
    if (params.has(refKey({ kind: "workflow", field: "name" }))) {
      this.diag.warning(
        "workflow-name",
        `step "${s.name}" reads the workflow name: on target tekton that is $(context.pipelineRun.name), the PipelineRun's generated name (${this.pipelineName}-xxxxx), not the workflow's name`,
        s.loc,
      );
    }
    if (params.has(refKey({ kind: "workflow", field: "status" }))) {
      this.diag.warning(
        "workflow-status",
        `step "${s.name}" reads the workflow status as text: on target tekton it comes from $(tasks.status) (its Completed, succeeded with skipped tasks, is passed on as Succeeded), and Tekton has no Error: a run that errored reads Failed`,
        s.loc,
      );
    }

    // ---- the Task spec
    const spec: Json = {};
    const arrays = new Set([...params.values()].filter((p) => p.array).map((p) => p.name));
    const allParams = [...params.values()].map((p) => p.name);
    for (const n of paramNames) if (!allParams.includes(n)) allParams.push(n);
    if (allParams.length) spec.params = [...new Set(allParams)].map((name) => ({ name, type: arrays.has(name) ? "array" : "string" }));
    const results: Json[] = [];
    if (info.stdoutResult !== undefined) results.push(this.resultDecl(info, info.stdoutResult, `standard output of step ${s.name}`));
    for (const st of chain) {
      for (const o of st.outputs ?? []) {
        const r = info.outputResults.get(`${st.name}\n${o.name}`);
        if (r !== undefined) results.push(this.resultDecl(info, r, `output ${o.name} of step ${st.name}`));
      }
    }
    if (info.observed) results.push({ name: OUTCOME_RESULT, description: `outcome of step ${s.name}: Succeeded or Failed` });
    if (results.length) spec.results = results;
    if (taskWorkspaces.length) spec.workspaces = taskWorkspaces;
    spec.steps = builtSteps.map((b) => b.step);
    if (sidecars.length) spec.sidecars = sidecars;
    return { task, spec, info };
  }

  /**
   * A fan-in: the program words that are exactly one fanned-out step's output (or stdout).
   * The wrapper rebuilds them as JSON list text from Tekton's gathered array. Fan-in inside
   * other text, in env or in a when has no such route and is refused where it is rendered.
   */
  private fanIn(s: PodStep, words: readonly Value[]): { ref: Ref; value: string; positions: number[] } | undefined {
    let found: { ref: Ref; value: string; positions: number[] } | undefined;
    words.forEach((w, i) => {
      if (typeof w === "string" || (w.kind !== "result" && w.kind !== "output")) return;
      const p = this.tasks.get(w.step);
      if (!p?.step.loop || p.final) return;
      const res = w.kind === "result" ? p.stdoutResult : p.outputResults.get(`${w.step}\n${w.output}`);
      if (res === undefined) return;
      if (found && refKey(found.ref) !== refKey(w)) {
        this.error(s.loc, `step "${s.name}" reads the gathered outputs of two fan-outs; on Tekton one step can read one fan-in list`);
        return;
      }
      if (!found) {
        found = { ref: w, value: `$(tasks.${p.name}.results.${res}[*])`, positions: [] };
        this.diag.warning(
          "result-size",
          `step "${s.name}" reads the gathered outputs of fan-out "${w.step}" on target tekton: each instance's result counts against Tekton's 4096-byte result limit, and the whole list travels in the PipelineRun's status`,
          s.loc,
        );
      }
      found.positions.push(i);
    });
    return found;
  }

  /** The artifacts a step passes through the artifacts workspace, if any. */
  private artifactsOf(info: TaskInfo, s: PodStep): { workspace: string; inputs: { from: string; path: string }[]; outputs: { path: string; to: string }[] } | undefined {
    const outputs = (s.outputArtifacts ?? []).filter((a) => !a.store).map((a) => ({ path: a.path, to: `${info.name}/${a.name}` }));
    const inputs: { from: string; path: string }[] = [];
    for (const a of s.inputArtifacts ?? []) {
      if (a.from.kind !== "step") continue;
      const p = this.tasks.get(a.from.step);
      if (p) inputs.push({ from: `${p.name}/${a.from.artifact}`, path: a.path });
    }
    return outputs.length || inputs.length ? { workspace: `$(workspaces.${ARTIFACT_WS}.path)`, inputs, outputs } : undefined;
  }

  private usesArtifacts(): boolean {
    return [...this.tasks.values()].some((t) => (t.chain ?? [t.step]).some((s) => this.artifactsOf(t, s)));
  }

  private resultDecl(info: TaskInfo, name: string, description: string): Json {
    const out: Json = { name, description };
    if (info.arrayResults.has(name)) out.type = "array";
    return out;
  }

  /** The matrix of a fanned-out step; declares its param names in `paramNames`. */
  private matrix(info: TaskInfo, paramNames: Set<string>): Json | undefined {
    const s = info.step;
    const l = s.loop;
    if (!l) return undefined;
    if (l.kind === "items") {
      const cols = l.items[0]?.length ?? 1;
      if (l.items.length > this.matrixMax) {
        this.error(
          s.loc,
          `step "${s.name}" fans out over ${l.items.length} items, more than Tekton's matrix limit of ${this.matrixMax} (default-max-matrix-combinations-count; raise it on the cluster and pass --tekton-max-matrix)`,
        );
      }
      const val = (x: string) => kubeLiteral(x, true);
      if (cols <= 1) {
        paramNames.add("item");
        return { params: [{ name: "item", value: l.items.map((row) => val(row[0] ?? "")) }] };
      }
      for (let i = 0; i < cols; i++) paramNames.add(`item-${i}`);
      // Rows are zipped, not crossed: explicit combinations.
      return {
        include: l.items.map((row, r) => ({ name: `row-${r}`, params: row.map((v, i) => ({ name: `item-${i}`, value: val(v) })) })),
      };
    }
    paramNames.add("item");
    const src = l.source;
    this.diag.warning(
      "empty-fan-out",
      `step "${s.name}" fans out over a list known only at run time: when it is empty, Tekton skips the task and the tasks after it (skipBecauseEmptyArrayInMatrixParams), where couler run counts the step as succeeded with no items and runs them`,
      s.loc,
    );
    let value: string | undefined;
    if (src.kind === "param") value = `$(params.${src.name}[*])`;
    else {
      const p = this.tasks.get(src.step);
      const res = p && (src.kind === "result" ? p.stdoutResult : p.outputResults.get(`${src.step}\n${src.output}`));
      if (!p || res === undefined) this.error(s.loc, `step "${s.name}" fans out over an output that step "${src.step}" does not produce`);
      else if (p.final) this.error(s.loc, `step "${s.name}" fans out over a result of step "${src.step}", which runs in finally; no task can read it`);
      else {
        value = `$(tasks.${p.name}.results.${res}[*])`;
        if (p.step.loop) {
          this.diag.warning(
            "fan-in-order",
            `step "${s.name}" fans out over the gathered results of fan-out "${src.step}": Tekton gathers them from the TaskRuns sorted by name (items 0, 1, 10, 11, 2, …), so with more than 10 items the instances of "${s.name}" run in that order on target tekton`,
            s.loc,
          );
        }
      }
    }
    return { params: [{ name: "item", value: value ?? "" }] };
  }

  private pipelineRun(metadata: Json): Json | undefined {
    return buildPipelineRun({
      wf: this.wf,
      options: this.ctx.options,
      diag: this.diag,
      tasks: [...this.tasks.values()],
      usesArtifacts: this.usesArtifacts(),
      withRun: this.withRun,
      pipelineName: this.pipelineName,
      arrayParams: this.arrayParams,
      arrayDefault: (n, t, l) => this.arrayDefault(n, t, l),
      metadata,
    });
  }
}

/**
 * The `#!` line that runs a script with `interpreter`, when the kernel can express it: one
 * word (found on PATH through /usr/bin/env, or an absolute path), or an absolute path and
 * one argument. Undefined otherwise (the wrapper runs it instead).
 */
export function shebang(interpreter: readonly string[], source: string): string | undefined {
  if (source.startsWith("#!") || !tektonInert(source)) return undefined;
  const word = (w: string) => w !== "" && !/\s/.test(w) && tektonInert(w);
  const [w0, w1, ...rest] = interpreter;
  if (w0 === undefined || !word(w0) || rest.length) return undefined;
  let line: string;
  if (w1 === undefined) line = w0.startsWith("/") ? `#!${w0}` : `#!/usr/bin/env ${w0}`;
  else if (w0.startsWith("/") && word(w1)) line = `#!${w0} ${w1}`;
  else return undefined;
  return line.length <= 127 ? line : undefined;
}

export const tektonBackend: Backend = {
  name: "tekton",
  description: "Tekton Pipelines: a Pipeline, its Tasks and a PipelineRun (tekton.dev/v1)",
  capabilities,
  options: {
    tasks: {
      description: "where each step's Task lives: embedded in the Pipeline (taskSpec) or as separate Task documents (taskRef)",
      values: ["embedded", "separate"],
      default: "embedded",
    },
    pipelinerun: {
      description: "also emit a PipelineRun that starts the Pipeline with the workflow's parameter defaults",
      values: ["true", "false"],
      default: "true",
    },
    "condition-image": {
      description: "the image (with sh and awk) of the helper step that evaluates a condition Tekton's when expressions cannot state",
      default: "busybox:1.36",
    },
    "artifact-size": {
      description: "the size of the per-run volume (couler-artifacts workspace) that carries artifacts between steps",
      default: "1Gi",
    },
    "max-matrix": {
      description: "the cluster's default-max-matrix-combinations-count: the most instances one fan-out may have",
      default: "256",
    },
  },
  goldenVariants: [{ name: "separate", options: { tasks: "separate" } }],
  compile(wf: WorkflowIR, ctx: CompileContext): OutputFile[] {
    const { wf: withHelpers, helpers } = withConditionHelpers(wf, ctx.options["condition-image"] ?? "busybox:1.36");
    return new TektonCompiler(withHelpers, ctx, helpers).compile();
  },
  joinForStdout(files: readonly OutputFile[]): string {
    return files.map((f) => f.content).join("---\n");
  },
};
