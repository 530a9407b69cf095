/**
 * Airflow backend: one Python DAG file per workflow, written from the Handlebars templates
 * beside this file (`dag.py.hbs`, `step.sh.hbs`).
 *
 * Shape: each container or script step is one task (a KubernetesPodOperator, or with
 * `operator=bash` a BashOperator). A step with `when` gets a ShortCircuitOperator in front
 * of it; a step fanned out over a run-time list gets a PythonOperator that computes the
 * per-instance arguments, mapped with `.expand_kwargs()`. Step outputs travel as one JSON
 * object per task in XCom (`{"result": stdout, "outputs": {name: text}}`), read by the
 * consumers' templated fields through `ti.xcom_pull(...)`. See README.md for the mapping.
 */
import type { Backend, CompileContext, OutputFile } from "../backend.js";
import type { DiagnosticBag } from "../../src/diagnostics.js";
import { allSteps, buildGraph, isPodStep, parentsOf, refsOfStep, topoOrder } from "../../src/ir/graph.js";
import type { Condition, ContainerStep, KubeObject, Ref, ScriptStep, Step, Value, WorkflowIR } from "../../src/ir/types.js";
import { kubeLiteral } from "../common/kube.js";
import { capabilities, checkBashLimits } from "./capabilities.js";
import { mangle, NameTable, shortHash, type NameRule } from "../common/names.js";
import { jinjaStr, type JinjaPart } from "./jinja-text.js";
import { PY_BUILTINS, PY_KEYWORDS, PY_SOFT_KEYWORDS, type PyJson } from "./python-literals.js";
import { heredocDelimiter, shQuote } from "./shell.js";
import { call, code, dict, list, lit, templates, tpl, type Py } from "./templates.js";
import { dependsPy, erroredAtoms, handledSteps, lowerDepends, needsRunStateTask, stepsPy, type StepTasks } from "./run-state.js";

/** Airflow task ids: `[A-Za-z0-9_.-]`, at most 250 characters; 243 leaves room for the `__items` helper suffix. */
const TASK_ID: NameRule = {
  what: "task id",
  target: "airflow",
  valid: /^[A-Za-z0-9_.-]+$/,
  maxLength: 243,
  fix: (n) => n.replace(/[^A-Za-z0-9_.-]+/g, "_") || "task",
};

const DAG_ID: NameRule = { ...TASK_ID, what: "DAG id", maxLength: 250 };

/** Names this file defines or imports; task variables never take them. */
const RESERVED_VARS = new Set([
  "DAG", "dag", "Param", "KubernetesPodOperator", "BashOperator", "PythonOperator", "ShortCircuitOperator", "Secret",
  "k8s", "pendulum", "timedelta", "json", "annotations",
]);

/** Attributes of Airflow's ParamsDict that `params.<name>` would find before the parameter. */
const PARAMS_ATTRS = new Set([
  "clear", "copy", "dump", "fromkeys", "get", "get_param", "items", "keys", "pop", "popitem", "setdefault",
  "suppress_exception", "update", "validate", "values", "deserialize", "serialize",
]);

/** The `couler_workflow_status` task pushes "Failed" or "Succeeded" once the main graph is done. */
const STATUS_EXPR = "ti.xcom_pull(task_ids='couler_workflow_status')";

/** A task we write: an IR step's own task, or a helper task in front of it. */
interface TaskView {
  readonly var: string;
  readonly id: string;
  /** Our own words (`step`, `condition of step`); the user's name goes in `name`. */
  readonly what: string;
  readonly name: string;
  readonly file: string;
  readonly line: number;
  readonly operator: string;
  readonly partial: boolean;
  readonly kwargs: (readonly [string, Py])[];
  readonly expand: Py | false;
}

/** How one IR step became tasks: the first one receives the step's upstream edges, the last one is what others wait for. */
interface Lowered {
  readonly first: string;
  readonly last: string;
  readonly all: string[];
}

/** A dict of user text for a templated operator field: Jinja renders the values, so each is templated text. */
function textDict(m: Readonly<Record<string, string>>): Py {
  return dict(Object.entries(m).map(([k, v]) => [k, tpl([v])] as const));
}

interface ItemPart {
  readonly item: string | number | null;
}
/** A piece of a value: literal text, a Jinja expression we built, or the current loop item. */
type Part = JinjaPart | ItemPart;
type Parts = Part[];
const isItem = (x: Part): x is ItemPart => typeof x !== "string" && "item" in x;

interface Opts {
  readonly version: "2" | "3";
  readonly operator: "kpo" | "bash";
}

class AirflowCompiler {
  private readonly ids: NameTable;
  private readonly vars = new Set<string>();
  private readonly stepVar = new Map<string, string>();
  private readonly byName = new Map<string, Step>();
  private readonly tasks: TaskView[] = [];
  private readonly edges: string[] = [];
  private readonly lowered = new Map<string, Lowered>();
  private readonly imports = new Set<string>();
  private readonly helpers = { any: false, pick: false, fanIn: false, when: false, fanOut: false, states: false, depends: false, status: false, runState: false };
  /** Variables of `__when` short-circuit tasks. */
  private readonly whenTasks = new Set<string>();
  /** Each step's tasks, as the run-time helpers read them. */
  private readonly stepTasks = new Map<string, StepTasks>();
  /** Steps whose stdout some value reads (their task must collect it). */
  private readonly resultRead = new Set<string>();
  private readonly diags: DiagnosticBag;
  private needJsonFilters = false;
  private readonly claimReported = new Set<string>();

  constructor(
    private readonly wf: WorkflowIR,
    ctx: CompileContext,
    private readonly o: Opts,
  ) {
    this.diags = ctx.diagnostics;
    this.ids = new NameTable(TASK_ID, ctx.diagnostics);
  }

  compile(): OutputFile[] {
    const wf = this.wf;
    const steps = allSteps(wf);
    for (const s of steps) this.byName.set(s.name, s);
    for (const s of steps) for (const r of refsOfStep(s)) if (r.kind === "result") this.resultRead.add(r.step);
    // helper tasks are named after their step; reserve the names first so a user step cannot take one
    for (const s of steps) {
      if (s.when) this.ids.reserve(`${mangle(s.name, TASK_ID)}__when`, `the condition task of step "${s.name}"`);
      if (s.loop?.kind === "from" || itemCondition(s)) this.ids.reserve(`${mangle(s.name, TASK_ID)}__items`, `the fan-out task of step "${s.name}"`);
    }
    const readsStatus = steps.some((s) => refsOfStep(s).some((r) => r.kind === "workflow" && r.field === "status"));
    const exitSteps = wf.onExit ?? [];
    const runState = needsRunStateTask(steps, exitSteps.length > 0);
    for (const s of steps) {
      if (s.depends && "gate" in lowerDepends(s.depends)) this.ids.reserve(`${mangle(s.name, TASK_ID)}__depends`, `the dependency task of step "${s.name}"`);
    }
    if (runState) this.ids.reserve("couler_workflow_failed", "the task that fails the run when a step failed that no step handles");
    if (readsStatus) this.ids.reserve("couler_workflow_status", "the task that tells exit handlers the workflow's status");
    for (const s of steps) {
      this.ids.add(s.name, s.loc);
      this.stepVar.set(s.name, this.newVar(s.name));
    }
    const dagId = new NameTable(DAG_ID, this.diags).add(wf.name, wf.loc);
    if (this.o.operator === "bash") checkBashLimits(this.wf, this.diags);

    this.lowerScope(wf.steps, undefined);
    // Tasks others wait for "whatever happened": never a `__when` short-circuit, which skips
    // every direct downstream task whatever its trigger rule (airflow/operators/python.py,
    // ShortCircuitOperator.execute); its step stands for it.
    const waitable = () => this.tasks.filter((t) => !this.whenTasks.has(t.var)).map((t) => t.var);
    const unhandled = (graph: readonly Step[]) => {
      const handled = handledSteps(graph);
      return graph.filter((s) => !handled.has(s.name)).map((s) => this.stepTasks.get(s.name)!);
    };
    const line = exitSteps[0]?.loc.line ?? wf.loc.line;
    const helperTask = (id: string, what: string, fn: string, steps: StepTasks[]): TaskView => ({
      var: this.newVar(id),
      id,
      what,
      name: wf.name,
      file: wf.loc.file,
      line,
      operator: this.operatorImport("python"),
      partial: false,
      kwargs: [
        ["task_id", lit(id)],
        ["python_callable", code(fn)],
        ["op_kwargs", dict([["steps", stepsPy(steps)]])],
        ["trigger_rule", lit("all_done")],
      ],
      expand: false,
    });
    if (exitSteps.length) {
      let exitAfter = waitable();
      if (readsStatus) {
        this.helpers.status = true;
        this.helpers.states = true;
        const t = helperTask("couler_workflow_status", "the workflow's status for the exit handler, in workflow", "_couler_status", unhandled(wf.steps));
        this.addTask(t, exitAfter);
        exitAfter = [t.var];
      }
      this.lowerScope(exitSteps, exitAfter);
    }
    if (runState) {
      this.helpers.runState = true;
      this.helpers.states = true;
      const t = helperTask(
        "couler_workflow_failed",
        "run state: the DAG run's last task, failing when a step failed that no step handles, in workflow",
        "_couler_run_state",
        [...unhandled(wf.steps), ...unhandled(exitSteps)],
      );
      this.addTask(t, waitable());
    }

    const dagKwargs = this.dagKwargs(dagId);
    const view = {
      source: wf.source,
      workflow: wf.name,
      target: this.o.version === "3" ? "3" : "2.6+",
      imports: this.importLines(),
      helpers: { ...this.helpers, any: Object.values(this.helpers).some((x) => x) },
      v3: this.o.version === "3",
      dagKwargs,
      tasks: this.tasks,
      edges: this.edges,
    };
    const content = templates().dag(view);
    return [{ path: `${dagId.replace(/[^A-Za-z0-9_]/g, "_")}.py`, content }];
  }

  // ------------------------------------------------------------ names

  private newVar(name: string): string {
    let v = name.replace(/[^A-Za-z0-9_]/g, "_");
    if (!/^[A-Za-z_]/.test(v)) v = `t_${v}`;
    if (PY_KEYWORDS.has(v) || PY_SOFT_KEYWORDS.has(v) || PY_BUILTINS.has(v) || RESERVED_VARS.has(v) || v.startsWith("_couler")) v = `${v}_`;
    if (this.vars.has(v)) v = `${v}_${shortHash(name)}`;
    this.vars.add(v);
    return v;
  }

  // ------------------------------------------------------------ imports

  private operatorImport(kind: "kpo" | "bash" | "python" | "short"): string {
    const v3 = this.o.version === "3";
    const std = v3 ? "airflow.providers.standard.operators" : "airflow.operators";
    switch (kind) {
      case "kpo":
        this.imports.add("from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator");
        return "KubernetesPodOperator";
      case "bash":
        this.imports.add(`from ${std}.bash import BashOperator`);
        return "BashOperator";
      case "python":
        this.imports.add(`from ${std}.python import PythonOperator`);
        return "PythonOperator";
      case "short":
        this.imports.add(`from ${std}.python import ShortCircuitOperator`);
        return "ShortCircuitOperator";
    }
  }

  private importLines(): string[] {
    const out: string[] = ["from __future__ import annotations", ""];
    const std: string[] = [];
    if (this.helpers.pick || this.helpers.fanIn || this.helpers.fanOut) std.push("import json");
    if ([...this.imports].includes("timedelta")) std.push("from datetime import timedelta");
    out.push(...std);
    if (std.length) out.push("");
    out.push("import pendulum");
    if (this.imports.has("k8s")) out.push("from kubernetes.client import models as k8s");
    out.push("");
    const air = [...this.imports].filter((i) => i.startsWith("from airflow"));
    const v3 = this.o.version === "3";
    const sdk = v3 ? ["DAG", ...(this.imports.has("Param") ? ["Param"] : [])] : [];
    if (v3) air.push(`from airflow.sdk import ${sdk.join(", ")}`);
    else {
      air.push("from airflow import DAG");
      if (this.imports.has("Param")) air.push("from airflow.models.param import Param");
    }
    // python operators share one import line
    const merged = new Map<string, Set<string>>();
    for (const line of air) {
      const m = /^from (\S+) import (.+)$/.exec(line)!;
      const set = merged.get(m[1]!) ?? new Set<string>();
      for (const n of m[2]!.split(", ")) set.add(n);
      merged.set(m[1]!, set);
    }
    for (const mod of [...merged.keys()].sort()) out.push(`from ${mod} import ${[...merged.get(mod)!].sort().join(", ")}`);
    return out;
  }

  // ------------------------------------------------------------ DAG

  private dagKwargs(dagId: string): (readonly [string, Py])[] {
    const wf = this.wf;
    const c = wf.config;
    const kw: (readonly [string, Py])[] = [["dag_id", lit(dagId)]];
    const cron = c.cron;
    let tz = "UTC";
    if (cron?.timezone !== undefined) {
      if (isTimeZone(cron.timezone)) tz = cron.timezone;
      else this.diags.error("invalid-timezone", `cron timezone "${cron.timezone}" is not an IANA time zone, which Airflow (pendulum) needs`, wf.loc);
    }
    kw.push(["schedule", lit(cron ? cron.schedule : null)]);
    kw.push(["start_date", call("pendulum.datetime", [["tz", lit(tz)]], [lit(2024), lit(1), lit(1)])]);
    kw.push(["catchup", lit(false)]);
    if (cron) {
      if (cron.concurrencyPolicy === "Forbid") kw.push(["max_active_runs", lit(1)]);
      if (cron.concurrencyPolicy === "Replace") {
        this.diags.warning("dropped", "cron concurrencyPolicy Replace is not expressible on target airflow: Airflow never cancels a running DAG run for a new one; using max_active_runs=1 (Forbid)", wf.loc);
        kw.push(["max_active_runs", lit(1)]);
      }
      if (cron.suspend) kw.push(["is_paused_upon_creation", lit(true)]);
      if (cron.startingDeadlineSeconds !== undefined) this.diags.warning("dropped", "cron startingDeadlineSeconds is not expressible on target airflow: a late Airflow run starts whenever the scheduler gets to it", wf.loc);
      if (cron.successfulJobsHistoryLimit !== undefined || cron.failedJobsHistoryLimit !== undefined) {
        this.diags.warning("dropped", "cron history limits are not expressible on target airflow: Airflow keeps every DAG run until `airflow db clean`", wf.loc);
      }
      for (const p of wf.params) {
        if (p.default === undefined) this.diags.error("unsupported", `parameter "${p.name}" has no default: Airflow refuses a scheduled DAG with a required parameter; give it a default`, p.loc);
      }
    }
    if (c.timeout !== undefined) {
      this.imports.add("timedelta");
      kw.push(["dagrun_timeout", call("timedelta", [["seconds", lit(c.timeout)]])]);
    }
    if (c.parallelism !== undefined) {
      kw.push(["max_active_tasks", lit(c.parallelism)]);
      const oneRun = cron?.concurrencyPolicy === "Forbid" || cron?.concurrencyPolicy === "Replace";
      if (!oneRun) {
        this.diags.warning("approximated", `workflow parallelism ${c.parallelism} becomes max_active_tasks on target airflow, which counts the tasks of all active runs of the DAG together, not of one run`, wf.loc);
      }
    }
    if ((c.podGC === "OnWorkflowCompletion" || c.podGC === "OnWorkflowSuccess") && this.o.operator !== "bash") {
      this.diags.warning("approximated", `podGC ${c.podGC} is approximated on target airflow: KubernetesPodOperator deletes each pod when its task ends, not when the run ends`, wf.loc);
    }
    if (wf.params.length) {
      this.imports.add("Param");
      kw.push([
        "params",
        dict(
          wf.params.map((p) => {
            const pk: [string, Py][] = [["type", lit("string")]];
            if (p.description !== undefined) pk.push(["description", lit(p.description)]);
            return [p.name, call("Param", pk, p.default !== undefined ? [lit(p.default)] : [])] as const;
          }),
        ),
      ]);
    }
    if (this.needJsonFilters) {
      const f: [string, Py][] = [];
      if (this.helpers.pick) f.push(["couler_pick", code("_couler_pick")]);
      if (this.helpers.fanIn) f.push(["couler_fan_in", code("_couler_fan_in")]);
      kw.push(["user_defined_filters", dict(f)]);
    }
    kw.push(["tags", lit(["couler"])]);
    return kw;
  }

  // ------------------------------------------------------------ graph

  /** Lower one graph of steps; `afterAll` makes its roots wait for those tasks whatever their state (exit handlers). */
  private lowerScope(steps: readonly Step[], afterAll: string[] | undefined): void {
    const g = buildGraph(steps);
    const order = topoOrder(steps, g);
    for (const name of order) {
      const s = g.byName.get(name)!;
      const parents = parentsOf(s).filter((p) => g.byName.has(p));
      let upstream = parents.map((p) => this.lowered.get(p)!.last);
      let rule: string | undefined;
      let gate: Py | undefined;
      if (afterAll && parents.length === 0) {
        upstream = afterAll;
        rule = "all_done";
      } else if (s.depends) {
        const how = lowerDepends(s.depends);
        if ("rule" in how) rule = how.rule;
        else {
          rule = "all_done";
          gate = dependsPy(s.depends, (p) => this.ids.get(p));
          for (const p of erroredAtoms(s.depends)) {
            this.diags.warning(
              "approximated",
              `step "${s.name}" waits for "${p}" to be Errored: Airflow cannot tell a task that could not start from one that failed, so on target airflow it runs when "${p}" failed`,
              s.loc,
            );
          }
        }
      }
      this.lowerStep(s, upstream, rule, gate, parents);
    }
  }

  private addTask(t: TaskView, upstream: readonly string[]): void {
    this.tasks.push(t);
    if (upstream.length === 1) this.edges.push(`${upstream[0]} >> ${t.var}`);
    else if (upstream.length > 1) this.edges.push(`[${upstream.join(", ")}] >> ${t.var}`);
  }

  // ------------------------------------------------------------ steps

  private lowerStep(s: Step, upstream: string[], rule: string | undefined, gate: Py | undefined, parents: readonly string[]): void {
    if (!isPodStep(s)) throw new Error(`internal: airflow cannot lower a ${s.kind} step`);
    const id = this.ids.get(s.name);
    const v = this.stepVar.get(s.name)!;
    const where = { name: s.name, file: s.loc.file, line: s.loc.line };
    const all: string[] = [];
    let up = upstream;
    let firstRule = rule;
    const ruleKw = (): (readonly [string, Py])[] => {
      const r = firstRule;
      firstRule = undefined;
      return r ? [["trigger_rule", lit(r)]] : [];
    };
    const helperIds: string[] = [];
    if (gate) {
      // the IR's dependency expression, evaluated over the parents' real states (see run-state.ts)
      this.helpers.depends = true;
      this.helpers.states = true;
      const dv = this.newVar(`${v}__depends`);
      this.addTask(
        {
          var: dv,
          id: `${id}__depends`,
          what: "dependencies of step",
          ...where,
          operator: this.operatorImport("python"),
          partial: false,
          kwargs: [
            ["task_id", lit(`${id}__depends`)],
            ["python_callable", code("_couler_depends")],
            ["op_kwargs", dict([["depends", gate], ["steps", stepsPy(parents.map((p) => this.stepTasks.get(p)!))]])],
            ...ruleKw(),
          ],
          expand: false,
        },
        up,
      );
      all.push(dv);
      up = [dv];
    }
    if (s.when && !itemCondition(s)) {
      this.helpers.when = true;
      const gv = this.newVar(`${v}__when`);
      this.addTask(
        {
          var: gv,
          id: `${id}__when`,
          what: "condition of step",
          ...where,
          operator: this.operatorImport("short"),
          partial: false,
          kwargs: [
            ["task_id", lit(`${id}__when`)],
            ["python_callable", code("_couler_when")],
            ["op_kwargs", dict([["condition", this.condition(s.when, s)]])],
            ["ignore_downstream_trigger_rules", lit(false)],
            ...ruleKw(),
          ],
          expand: false,
        },
        up,
      );
      all.push(gv);
      this.whenTasks.add(gv);
      helperIds.push(`${id}__when`);
      up = [gv];
    }
    const pod = this.podTask(s, id, v, ruleKw);
    if (pod.itemsTask) {
      this.addTask(pod.itemsTask, up);
      all.push(pod.itemsTask.var);
      helperIds.push(pod.itemsTask.id);
      up = [pod.itemsTask.var];
    }
    this.addTask(pod.task, up);
    all.push(v);
    this.lowered.set(s.name, { first: all[0]!, last: v, all });
    this.stepTasks.set(s.name, { task: id, helpers: helperIds, mapped: s.loop !== undefined });
  }

  /** The step's own task (and, for a run-time fan-out, the task computing its instances). */
  private podTask(
    s: ContainerStep | ScriptStep,
    id: string,
    v: string,
    ruleKw: () => (readonly [string, Py])[],
  ): { task: TaskView; itemsTask?: TaskView } {
    const bash = this.o.operator === "bash";
    // a run-time fan-out task goes first, so it takes the step's trigger rule
    const itemsRuleKw = s.loop && (s.loop.kind === "from" || itemCondition(s)) ? ruleKw() : [];
    const collect = (s.outputs?.length ?? 0) > 0 || this.resultRead.has(s.name);
    const loop = s.loop;
    if (loop?.kind === "items" && loop.items.length > 1024) {
      this.diags.error("too-many-items", `step "${s.name}" fans out over ${loop.items.length} items: Airflow maps at most 1024 instances (core.max_map_length)`, s.loc);
    }
    if (s.kind === "script" && s.source.includes("\0")) this.diags.error("unsupported", `the source of script step "${s.name}" contains a NUL character, which a shell script cannot carry`, s.loc);

    // The values the step passes, as Jinja parts; items stay symbolic until rows are known.
    const command = (s.command ?? []).map((x) => this.parts(x, s));
    const args = (s.args ?? []).map((x) => this.parts(x, s));
    const env = (s.env ?? []).map((e) => [e.name, this.parts(e.value, s)] as const);
    const wrap = collect || s.kind === "script" || s.workingDir !== undefined;
    if (bash && command.length === 0) {
      this.diags.error("unsupported", `step "${s.name}" has no command, which is not supported on target airflow with operator bash: the image's entrypoint is ignored on the worker, so nothing would run; give the step a command`, s.loc);
    }
    if (wrap && !bash && command.length === 0) {
      this.diags.error("unsupported", `step "${s.name}" needs a command on target airflow: collecting outputs or setting a working directory wraps the command in a shell, and the image's entrypoint is not known`, s.loc);
    }
    const script =
      s.kind === "script" ? { delimiter: heredocDelimiter(s.source), source: s.source } : false;

    // fields: name → list of values or map of values (each value a list of parts)
    type Fields = Record<string, Parts[] | (readonly [string, Parts])[]>;
    const fields: Fields = {};
    let shellText: string | undefined;
    if (bash) {
      // every value with a reference or an item travels in an env var, so nothing run-time reaches the shell text
      const envOut: (readonly [string, Parts])[] = [...env];
      for (const e of env) {
        if (e[0].startsWith("COULER_")) this.diags.error("reserved-name", `env var "${e[0]}" of step "${s.name}": names starting with COULER_ are reserved on target airflow`, s.loc);
      }
      const word = (p: Parts, i: number): string => {
        if (p.every((x) => typeof x === "string")) return shQuote(p.join(""));
        const name = `COULER_ARG_${i}`;
        envOut.push([name, p]);
        return `"$${name}"`;
      };
      const words: string[] = [];
      let i = 0;
      for (const p of command) words.push(word(p, i++));
      if (script) words.push(`"$couler_tmp/script"`);
      for (const p of args) words.push(word(p, i++));
      shellText = this.shellScript(s, words.join(" ") || ":", collect, script, true);
      fields.env = envOut;
    } else {
      // The pod's command, args and env go through Kubernetes' own $(VAR) / $$ expansion.
      const kube = (p: Parts): Parts => p.map((x, i) => (typeof x === "string" ? kubeLiteral(x, i + 1 < p.length) : x));
      if (wrap) {
        fields.arguments = [...command, ...(script ? [["/tmp/couler/script"]] : []), ...args].map(kube);
        shellText = kubeLiteral(this.shellScript(s, collect ? `"$@"` : `exec "$@"`, collect, script, false), false);
      } else {
        if (command.length) fields.cmds = command.map(kube);
        if (args.length) fields.arguments = args.map(kube);
      }
      if (env.length) fields.env_vars = env.map(([k, p]) => [k, kube(p)] as const);
    }

    const hasItem = (p: Parts) => p.some(isItem);
    const fieldVaries = (f: Parts[] | (readonly [string, Parts])[]) =>
      f.some((x) => (Array.isArray(x) && typeof x[0] === "string" && x.length === 2 && Array.isArray(x[1]) ? hasItem(x[1] as Parts) : hasItem(x as Parts)));
    const renderField = (f: Parts[] | (readonly [string, Parts])[], row?: readonly string[]): Py => {
      const isMap = f.length > 0 && Array.isArray(f[0]) && f[0].length === 2 && typeof f[0][0] === "string" && Array.isArray(f[0][1]);
      if (isMap) return dict((f as (readonly [string, Parts])[]).map(([k, p]) => [k, tpl(this.rowParts(p, row, s))] as const));
      return list((f as Parts[]).map((p) => tpl(this.rowParts(p, row, s))));
    };

    const operator = this.operatorImport(bash ? "bash" : "kpo");
    const kw: (readonly [string, Py])[] = [["task_id", lit(id)]];
    if (bash) {
      kw.push(["bash_command", tpl([shellText!])]);
      kw.push(["append_env", lit(true)]);
      kw.push(["skip_on_exit_code", lit(null)]);
    } else {
      // image, namespace, labels, annotations and node_selector are template_fields of the operator
      kw.push(["image", tpl([s.image])]);
      // the wrapper carries user text (script source, paths): it is templated text like any other
      if (wrap) kw.push(["cmds", list([lit("sh"), lit("-c"), tpl([shellText!]), lit("couler")])]);
    }
    const mapped = Object.keys(fields).filter((k) => loop && fieldVaries(fields[k]!));
    for (const k of Object.keys(fields)) {
      if (mapped.includes(k)) continue;
      const f = fields[k]!;
      if (f.length) kw.push([k, renderField(f)]);
    }
    if (!bash) this.podKwargs(s, kw);
    if (collect) kw.push(["do_xcom_push", lit(true)]);
    else if (bash) kw.push(["do_xcom_push", lit(false)]);
    kw.push(...ruleKw());
    this.retryKwargs(s, kw);
    if (loop?.parallelism !== undefined) {
      if (this.o.version === "3") kw.push(["max_active_tis_per_dagrun", lit(loop.parallelism)]);
      else {
        kw.push(["max_active_tis_per_dag", lit(loop.parallelism)]);
        this.diags.warning("approximated", `fan-out parallelism of step "${s.name}" becomes max_active_tis_per_dag on Airflow 2, which limits instances across all runs of the DAG (Airflow 3 limits per run)`, s.loc);
      }
    }
    const base = { var: v, id, what: "step", name: s.name, file: s.loc.file, line: s.loc.line, operator };
    if (!loop) return { task: { ...base, partial: false, kwargs: kw, expand: false } };

    const filter = itemCondition(s);
    if (filter) {
      this.diags.warning(
        "approximated",
        `items of step "${s.name}" whose condition is false get no instance on target airflow (a mapped task cannot skip one instance): couler run and other engines record them as skipped items`,
        s.loc,
      );
    }
    if (loop.kind === "items" && !filter) {
      const rows = loop.items.map((row) =>
        dict(mapped.map((k) => [k, renderField(fields[k]!, row)] as const)),
      );
      const expand = mapped.length ? list(rows) : list(loop.items.map(() => dict([])));
      return { task: { ...base, partial: true, kwargs: kw, expand } };
    }
    // run-time list (or a condition per item): a PythonOperator turns the list into per-instance arguments
    this.helpers.fanOut = true;
    if (filter) this.helpers.when = true;
    const staticItem = loop.kind === "items";
    const iv = this.newVar(`${v}__items`);
    const partsPy = (p: Parts): Py =>
      list(this.mergeText(p).map((x) => (isItem(x) ? dict([["item", lit(staticItem ? this.staticColumn(x, s) : x.item)]]) : dict([["text", tpl([x])]]))));
    const spec = (f: Parts[] | (readonly [string, Parts])[]): Py => {
      const isMap = f.length > 0 && Array.isArray(f[0]) && f[0].length === 2 && typeof f[0][0] === "string" && Array.isArray(f[0][1]);
      if (isMap) return dict((f as (readonly [string, Parts])[]).map(([k, p]) => [k, partsPy(p)] as const));
      return list((f as Parts[]).map(partsPy));
    };
    const fieldsPy = dict(mapped.map((k) => [k, spec(fields[k]!)] as const));
    const itemsTask: TaskView = {
      var: iv,
      id: `${id}__items`,
      what: "instances of step",
      name: s.name,
      file: s.loc.file,
      line: s.loc.line,
      operator: this.operatorImport("python"),
      partial: false,
      kwargs: [
        ["task_id", lit(`${id}__items`)],
        ["python_callable", code("_couler_fan_out")],
        [
          "op_kwargs",
          dict([
            ["items", loop.kind === "from" ? tpl([this.refExpr(loop.source, s)]) : list(loop.items.map((row) => list(row.map((x) => tpl([x])))))],
            ["fields", fieldsPy],
            ...(filter ? [["condition", this.condition(s.when!, s, partsPy)] as const] : []),
          ]),
        ],
        ...itemsRuleKw,
      ],
      expand: false,
    };
    return { itemsTask, task: { ...base, partial: true, kwargs: kw, expand: code(`${iv}.output`) } };
  }

  /** The column a static item reference reads (rows are lists of text). */
  private staticColumn(x: ItemPart, s: Step): number {
    if (typeof x.item === "string") {
      this.diags.error("unsupported", `step "${s.name}" reads field "${x.item}" of a static item, which is text`, s.loc);
      return 0;
    }
    return x.item ?? 0;
  }

  private mergeText(p: Parts): Parts {
    const out: Parts = [];
    for (const x of p) {
      const prev = out[out.length - 1];
      if (typeof x === "string" && typeof prev === "string") out[out.length - 1] = prev + x;
      else out.push(x);
    }
    return out;
  }

  /** Kubernetes settings of a pod step. */
  private podKwargs(s: ContainerStep | ScriptStep, kw: (readonly [string, Py])[]): void {
    const c = this.wf.config;
    if (s.secretEnv?.length) {
      this.imports.add("from airflow.providers.cncf.kubernetes.secret import Secret");
      kw.push(["secrets", list(s.secretEnv.map((e) => call("Secret", [], [lit("env"), lit(e.name), lit(e.secret), lit(e.key)])))]);
    }
    if (s.resources) {
      this.imports.add("k8s");
      const r: [string, Py][] = [];
      if (s.resources.requests) r.push(["requests", lit({ ...s.resources.requests })]);
      if (s.resources.limits) r.push(["limits", lit({ ...s.resources.limits })]);
      kw.push(["container_resources", call("k8s.V1ResourceRequirements", r)]);
    }
    if (s.imagePullPolicy) kw.push(["image_pull_policy", lit(s.imagePullPolicy)]);
    const nodeSelector = { ...(c.nodeSelector ?? {}), ...(s.nodeSelector ?? {}) };
    if (Object.keys(nodeSelector).length) kw.push(["node_selector", textDict(nodeSelector)]);
    const tolerations = [...(c.tolerations ?? []), ...(s.tolerations ?? [])];
    if (tolerations.length) {
      this.imports.add("k8s");
      kw.push([
        "tolerations",
        list(
          tolerations.map((t) => {
            const a: [string, Py][] = [];
            if (t.key !== undefined) a.push(["key", lit(t.key)]);
            if (t.operator !== undefined) a.push(["operator", lit(t.operator)]);
            if (t.value !== undefined) a.push(["value", lit(t.value)]);
            if (t.effect !== undefined) a.push(["effect", lit(t.effect)]);
            if (t.tolerationSeconds !== undefined) a.push(["toleration_seconds", lit(t.tolerationSeconds)]);
            return call("k8s.V1Toleration", a);
          }),
        ),
      ]);
    }
    const affinity = s.affinity ?? c.affinity;
    if (affinity) kw.push(["affinity", lit(affinity as PyJson)]);
    if (c.securityContext) kw.push(["security_context", lit(c.securityContext as PyJson)]);
    if (s.securityContext) kw.push(["container_security_context", lit(s.securityContext as PyJson)]);
    if (c.imagePullSecrets?.length) {
      this.imports.add("k8s");
      kw.push(["image_pull_secrets", list(c.imagePullSecrets.map((n) => call("k8s.V1LocalObjectReference", [["name", lit(n)]])))]);
    }
    if (c.serviceAccount !== undefined) kw.push(["service_account_name", lit(c.serviceAccount)]);
    if (c.namespace !== undefined) kw.push(["namespace", tpl([c.namespace])]);
    if (c.labels) kw.push(["labels", textDict(c.labels)]);
    if (c.annotations) kw.push(["annotations", textDict(c.annotations)]);
    this.volumeKwargs(s, kw);
    if (c.dnsPolicy) kw.push(["dnspolicy", lit(c.dnsPolicy)]);
    if (c.dnsConfig) kw.push(["dns_config", this.dnsConfig(c.dnsConfig)]);
    if (c.podGC) {
      const action = c.podGC === "OnPodSuccess" || c.podGC === "OnWorkflowSuccess" ? "delete_succeeded_pod" : "delete_pod";
      kw.push(["on_finish_action", lit(action)]);
    }
  }

  /** Volumes a step mounts: existing claims and per-pod emptyDirs. A claim made per run has no KPO form. */
  private volumeKwargs(s: ContainerStep | ScriptStep, kw: (readonly [string, Py])[]): void {
    if (!s.volumeMounts?.length) return;
    this.imports.add("k8s");
    const byName = new Map((this.wf.config.volumes ?? []).map((v) => [v.name, v]));
    const used = [...new Set(s.volumeMounts.map((m) => m.volume))];
    const vols: Py[] = [];
    for (const name of used) {
      const v = byName.get(name);
      if (!v) continue;
      if (v.kind === "pvc") {
        const src: [string, Py][] = [["claim_name", lit(v.claimName)]];
        if (v.readOnly) src.push(["read_only", lit(true)]);
        vols.push(call("k8s.V1Volume", [["name", lit(v.name)], ["persistent_volume_claim", call("k8s.V1PersistentVolumeClaimVolumeSource", src)]]));
      } else if (v.kind === "emptyDir") {
        const src: [string, Py][] = [];
        if (v.medium) src.push(["medium", lit(v.medium)]);
        if (v.sizeLimit) src.push(["size_limit", lit(v.sizeLimit)]);
        vols.push(call("k8s.V1Volume", [["name", lit(v.name)], ["empty_dir", call("k8s.V1EmptyDirVolumeSource", src)]]));
      } else if (!this.claimReported.has(v.name)) {
        this.claimReported.add(v.name);
        this.diags.error(
          "unsupported",
          `volume "${v.name}" is a claim created for each run, which is not supported on target airflow: a DAG file cannot create and delete a PersistentVolumeClaim per DAG run; create the claim beforehand and mount it with addVolume(name, { claimName })`,
          s.loc,
        );
      }
    }
    kw.push(["volumes", list(vols)]);
    kw.push([
      "volume_mounts",
      list(
        s.volumeMounts.map((m) => {
          const a: [string, Py][] = [["name", lit(m.volume)], ["mount_path", lit(m.mountPath)]];
          if (m.subPath !== undefined) a.push(["sub_path", lit(m.subPath)]);
          if (m.readOnly) a.push(["read_only", lit(true)]);
          return call("k8s.V1VolumeMount", a);
        }),
      ),
    ]);
  }

  private dnsConfig(d: KubeObject): Py {
    this.imports.add("k8s");
    const a: [string, Py][] = [];
    for (const key of Object.keys(d).sort()) {
      const v = d[key];
      if ((key === "nameservers" || key === "searches") && Array.isArray(v) && v.every((x) => typeof x === "string")) a.push([key, lit(v as string[])]);
      else if (key === "options" && Array.isArray(v)) {
        a.push([
          "options",
          list(
            v.map((o) => {
              const oo = (o ?? {}) as { name?: unknown; value?: unknown };
              const kwo: [string, Py][] = [];
              if (typeof oo.name === "string") kwo.push(["name", lit(oo.name)]);
              if (typeof oo.value === "string") kwo.push(["value", lit(oo.value)]);
              return call("k8s.V1PodDNSConfigOption", kwo);
            }),
          ),
        ]);
      } else this.diags.error("unsupported", `DNS config field "${key}" is not supported on target airflow: KubernetesPodOperator's dns_config takes nameservers, searches and options`, this.wf.loc);
    }
    return call("k8s.V1PodDNSConfig", a);
  }

  private retryKwargs(s: Step, kw: (readonly [string, Py])[]): void {
    if (s.retry) {
      kw.push(["retries", lit(s.retry.limit)]);
      const b = s.retry.backoff;
      if (b) {
        this.imports.add("timedelta");
        kw.push(["retry_delay", call("timedelta", [["seconds", lit(b.duration)]])]);
        const factor = b.factor ?? 1;
        if (factor !== 1) {
          kw.push(["retry_exponential_backoff", lit(true)]);
          if (factor !== 2) {
            this.diags.warning("approximated", `retry backoff factor ${factor} of step "${s.name}" is approximated on target airflow: Airflow's exponential backoff doubles the delay each retry`, s.loc);
          }
        }
        if (b.maxDuration !== undefined) kw.push(["max_retry_delay", call("timedelta", [["seconds", lit(b.maxDuration)]])]);
      } else {
        // without a backoff the other engines retry at once; Airflow would wait its default 5 minutes
        this.imports.add("timedelta");
        kw.push(["retry_delay", call("timedelta", [["seconds", lit(0)]])]);
      }
    }
    if (s.timeout !== undefined) {
      this.imports.add("timedelta");
      kw.push(["execution_timeout", call("timedelta", [["seconds", lit(s.timeout)]])]);
    }
  }

  /** The wrapper script that runs the command and collects outputs (from step.sh.hbs). */
  private shellScript(
    s: ContainerStep | ScriptStep,
    run: string,
    collect: boolean,
    script: { delimiter: string; source: string } | false,
    bash: boolean,
  ): string {
    const outputs = (s.outputs ?? []).map((o, i) => ({
      path: o.path ?? "",
      key: `${i === 0 ? "" : ", "}${JSON.stringify(o.name)}: `,
      missing: `couler: output parameter ${o.name} of step ${s.name}: file ${o.path} not found`,
    }));
    const text = templates().step({
      workingDir: s.workingDir ?? false,
      tmp: collect || script !== false,
      bash,
      script,
      collect,
      outputs,
      run,
    });
    return text.replace(/\n+$/, "");
  }

  // ------------------------------------------------------------ values

  /** A value as Jinja parts; items stay as `{ item }` markers. */
  private parts(v: Value, s: Step): Parts {
    const ps = typeof v === "string" ? [v] : v.kind === "concat" ? v.parts : [v];
    return ps.map((p): Part => (typeof p === "string" ? p : p.kind === "item" ? { item: p.field ?? p.index ?? null } : this.refExpr(p, s)));
  }

  /** Parts with items replaced by a static row's values. */
  private rowParts(p: Parts, row: readonly string[] | undefined, s: Step): JinjaPart[] {
    return p.map((x) => {
      if (!isItem(x)) return x;
      const item = x.item;
      if (!row) throw new Error("internal: item outside a fan-out");
      if (typeof item === "string") {
        this.diags.error("unsupported", `step "${s.name}" reads field "${item}" of a static item, which is text`, s.loc);
        return "";
      }
      return row[item ?? 0] ?? "";
    });
  }

  /** A reference as a Jinja expression we build (names go in as Jinja string literals). */
  private refExpr(r: Ref, s: Step): { expr: string } {
    switch (r.kind) {
      case "param":
        return { expr: /^[A-Za-z_][A-Za-z0-9_]*$/.test(r.name) && !PARAMS_ATTRS.has(r.name) && !PY_KEYWORDS.has(r.name) ? `params.${r.name}` : `params[${jinjaStr(r.name)}]` };
      case "result":
      case "output": {
        const producer = this.byName.get(r.step);
        const path = r.kind === "result" ? "'result'" : `'outputs', ${jinjaStr(r.output)}`;
        const pull = `ti.xcom_pull(task_ids=${jinjaStr(this.ids.get(r.step))})`;
        this.helpers.pick = true;
        this.needJsonFilters = true;
        if (producer?.loop && producer.name !== s.name) {
          this.helpers.fanIn = true;
          return { expr: `${pull} | couler_fan_in(${path})` };
        }
        return { expr: `${pull} | couler_pick(${path})` };
      }
      case "workflow":
        if (r.field === "name") return { expr: "run_id" };
        return { expr: STATUS_EXPR };
      case "item":
        throw new Error("internal: item handled by parts()");
    }
  }

  /**
   * A condition for `_couler_when`; values are rendered text, or (with `perItem`, inside a
   * fan-out) part lists that `_couler_fan_out` completes with each item.
   */
  private condition(c: Condition, s: Step, perItem?: (p: Parts) => Py): Py {
    switch (c.kind) {
      case "and":
      case "or":
        return dict([["op", lit(c.kind)], ["of", list(c.of.map((x) => this.condition(x, s, perItem)))]]);
      case "not":
        return dict([["op", lit("not")], ["of", this.condition(c.of, s, perItem)]]);
      case "compare": {
        const side = (v: Value) => (perItem ? perItem(this.parts(v, s)) : tpl(this.parts(v, s).map((x) => (isItem(x) ? this.itemInCondition(s) : x))));
        return dict([["op", lit(c.op)], ["left", side(c.left)], ["right", side(c.right)]]);
      }
    }
  }

  private itemInCondition(s: Step): string {
    // the DSL only lets a condition read the item inside a fan-out, where it is checked per item
    this.diags.error("unsupported", `the condition of step "${s.name}" reads a loop item, but the step is not fanned out`, s.loc);
    return "";
  }


}

/** True when a fanned-out step's `when` reads the loop item: it is then checked per item, by the fan-out task. */
function itemCondition(s: Step): boolean {
  if (!s.when || !s.loop) return false;
  const walk = (c: Condition): boolean =>
    c.kind === "compare"
      ? [c.left, c.right].some((v) => typeof v !== "string" && (v.kind === "item" || (v.kind === "concat" && v.parts.some((p) => typeof p !== "string" && p.kind === "item"))))
      : c.kind === "not"
        ? walk(c.of)
        : c.of.some(walk);
  return walk(s.when);
}

function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

export const airflowBackend: Backend = {
  name: "airflow",
  description: "Apache Airflow: a Python DAG file (Airflow 2.6+ or 3), KubernetesPodOperator or BashOperator tasks",
  capabilities,
  options: {
    version: { description: "Airflow major version the DAG imports target (2: Airflow 2.6+, 3: airflow.sdk)", values: ["2", "3"], default: "2" },
    operator: {
      description: "how steps run: kpo (KubernetesPodOperator) or bash (BashOperator on the worker; the image is ignored)",
      values: ["kpo", "bash"],
      default: "kpo",
    },
  },
  goldenVariants: [
    { name: "bash", options: { operator: "bash" } },
    { name: "v3", options: { version: "3" } },
  ],
  compile(wf: WorkflowIR, ctx: CompileContext): OutputFile[] {
    const version = ctx.options.version === "3" ? "3" : "2";
    const operator = ctx.options.operator === "bash" ? "bash" : "kpo";
    return new AirflowCompiler(wf, ctx, { version, operator }).compile();
  },
  joinForStdout(files: readonly OutputFile[]): string {
    return files.map((f) => f.content).join("\n");
  },
};
