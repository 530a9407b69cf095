/**
 * GitHub Actions backend: one workflow file, `.github/workflows/<name>.yml`, per IR workflow.
 *
 * Shape: one job per step. A pod step's job runs in a job `container:` (the step's image),
 * with a `run:` step that calls the user's command explicitly (a job container's entrypoint
 * never runs), then, when other jobs read them, a step that writes its outputs to
 * `$GITHUB_OUTPUT`, exposed as job `outputs`. Ordering is `needs` plus an `if:` that says
 * exactly which upstream results let the job start (see ordering.ts). Fan-out is a matrix;
 * fan-in goes through artifacts and a small collector job. Every user text is inert: see
 * expressions.ts and shell.ts. The README beside this file is the user-facing reference.
 */
import type { Backend, CompileContext, OutputFile } from "../backend.js";
import { isPodStep, parentsOf, producersOf, refsOfStep, refsOfValue, valuesOfCondition } from "../../src/ir/graph.js";
import type { Condition, Loc, Ref, Step, Value, WorkflowIR } from "../../src/ir/types.js";
import { NameTable } from "../common/names.js";
import { toYaml } from "../common/yaml.js";
import { cacheRestoreSteps, cacheSaveSteps, collectorJob, inputArtifactSteps, outputArtifactSteps } from "./artifacts.js";
import { capabilities } from "./capabilities.js";
import { container, runnerValue } from "./docker.js";
import { caseless, property, stringLiteral, templateText, wrap } from "./expressions.js";
import { ACTIONS, type Host, type WorkflowHost, type JobPlan, type Json, type PodStep } from "./host.js";
import { JOB_ID, MAX_EXPRESSION, MAX_FILE_BYTES, MAX_MATRIX, OUTPUT_NAME, expressionLength, githubSecretName } from "./names.js";
import { FAILED_OUTPUT, JobStarts, type OrderingHost } from "./ordering.js";
import { outputsStep, runStep } from "./steps.js";
import { concurrency as concurrencyOf, permissions as permissionsOf, triggers } from "./triggers.js";

export { ACTIONS } from "./host.js";
export { expressionLength, githubSecretName } from "./names.js";

class GithubCompiler implements Host, WorkflowHost {
  private readonly ids: NameTable;
  readonly plans = new Map<string, JobPlan>();
  private readonly mainNames: string[];
  /** Start rules of the main jobs and of the exit-handler jobs (see ordering.ts). */
  private mainStarts!: JobStarts;
  private exitStarts!: JobStarts;
  /** Each step's job-level condition, made once (making it may warn). */
  private readonly whenTexts = new Map<string, string | undefined>();
  private statusWarned = false;
  /**
   * `step\0output` (`step\0` for stdout) → the job output holding that value in hex, for
   * conditions that compare it: GitHub's `==` ignores case, hex digits have none to ignore.
   */
  private readonly hexKeys = new Map<string, string>();
  /** Job id → position in the file, so `needs` lists follow step order. */
  private readonly jobOrder = new Map<string, number>();
  /** Steps whose stdout some step reads. */
  readonly resultRead = new Set<string>();
  /** Steps some step reads an output or result of. */
  private readonly outputsRead = new Set<string>();
  private readonly secretNames = new Map<string, string>();
  private readonly secretOwner = new Map<string, string>();
  readonly scheduled: boolean;
  readonly runsOn: string | string[];
  private readonly wfTimeoutMinutes: number | undefined;

  constructor(
    readonly wf: WorkflowIR,
    readonly ctx: CompileContext,
  ) {
    this.ids = new NameTable(JOB_ID, ctx.diagnostics);
    this.mainNames = wf.steps.map((s) => s.name);
    this.scheduled = wf.config.cron !== undefined && wf.config.cron.suspend !== true;
    // The workflow's own runsOn wins over the --github-runs-on default; a step's wins over both.
    const labels = wf.config.runsOn ?? (ctx.options["runs-on"] ?? "ubuntu-latest").split(",").map((l) => l.trim()).filter((l) => l !== "");
    this.runsOn = runnerValue(labels);
    this.wfTimeoutMinutes = wf.config.timeout !== undefined ? Math.ceil(wf.config.timeout / 60) : undefined;
  }

  error(code: string, message: string, loc: Loc): void {
    this.ctx.diagnostics.error(code, `${message} (target github)`, loc);
  }
  warn(code: string, message: string, loc: Loc): void {
    this.ctx.diagnostics.warning(code, `${message} (target github)`, loc);
  }

  compile(): OutputFile[] {
    const wf = this.wf;
    const all = [...wf.steps, ...(wf.onExit ?? [])];
    const mainSet = new Set<Step>(wf.steps);
    for (const s of all) {
      if (!isPodStep(s)) {
        this.error("unsupported", `step "${s.name}" is a ${s.kind} step, which GitHub Actions cannot run`, s.loc);
        continue;
      }
      const keys = new Map<string, string>();
      const table = new NameTable(OUTPUT_NAME, this.ctx.diagnostics);
      table.reserve("result", "the step's standard output (result)");
      table.reserve(FAILED_OUTPUT, "the job's own failure marker");
      for (const o of s.outputs ?? []) keys.set(o.name, table.add(o.name, o.loc));
      keys.set("", "result");
      this.plans.set(s.name, { step: s, id: this.ids.add(s.name, s.loc), scope: mainSet.has(s) ? "main" : "onExit", keys });
    }
    if (this.ctx.diagnostics.hasErrors) return [];
    for (const s of all) {
      for (const r of refsOfStep(s)) {
        if (r.kind === "result") this.resultRead.add(r.step);
        if (r.kind === "result" || r.kind === "output") this.outputsRead.add(r.step);
      }
    }
    for (const s of all) {
      const plan = this.plans.get(s.name)!;
      if (s.loop && this.outputsRead.has(s.name)) {
        const id = `${plan.id}-collect`;
        if (this.ids.has(id)) this.error("name-collision", `the fan-in job "${id}" for step "${s.name}" collides with a step's job id; rename that step`, s.loc);
        this.ids.reserve(id, `the fan-in job of "${s.name}"`);
        plan.collector = id;
      }
    }
    for (const s of all) {
      const p = this.plans.get(s.name)!;
      this.jobOrder.set(p.id, this.jobOrder.size);
      if (p.collector) this.jobOrder.set(p.collector, this.jobOrder.size);
    }
    if (this.ctx.options.compare === "exact") this.planHexOutputs(all);
    this.analyseMain();
    this.checkSkippedReads(all);

    // The workflow's `name` takes no expressions either.
    const doc: Json = { name: wf.name.split("${{").join("$ {{") };
    doc.on = triggers(this);
    const permissions = permissionsOf(this);
    if (permissions !== undefined) doc.permissions = permissions;
    const concurrency = concurrencyOf(this);
    if (concurrency) doc.concurrency = concurrency;
    const jobs: Json = {};
    for (const s of all) {
      const plan = this.plans.get(s.name)!;
      jobs[plan.id] = this.job(plan);
      if (plan.collector) jobs[plan.collector] = collectorJob(this, plan);
    }
    doc.jobs = jobs;
    this.checkExpressions({ on: doc.on, concurrency: doc.concurrency, runsOn: this.runsOn }, `workflow "${wf.name}"`, wf.loc);
    const content = toYaml(doc);
    const bytes = Buffer.byteLength(content, "utf8");
    if (bytes > MAX_FILE_BYTES) {
      this.warn("too-large", `the workflow file is ${bytes} bytes; GitHub accepts workflow files up to 512 KB`, wf.loc);
    }
    const file = wf.name.replace(/[^A-Za-z0-9._-]+/g, "-").replace(/^[.-]+/, "") || "workflow";
    return [{ path: `.github/workflows/${file}.yml`, content }];
  }

  // ------------------------------------------------------------------ graph facts

  private analyseMain(): void {
    const host: OrderingHost = {
      idOf: (step) => this.plans.get(step)!.id,
      outputJobsOf: (step) => {
        const p = this.plans.get(step)!;
        return p.collector ? [p.collector, p.id] : [p.id];
      },
      whenOf: (s) => this.whenText(s),
      guardOf: (s) => this.guardText(s),
      approximate: (s, _what, parent) =>
        this.warn("approximated", `step "${s.name}": GitHub has no separate "errored" state; ${parent}.Errored is read as a failure`, s.loc),
      refuse: (s, status, parent) =>
        status === "Daemoned"
          ? this.error("unsupported", `step "${s.name}" waits for ${parent}.Daemoned; GitHub Actions has no daemon steps`, s.loc)
          : this.error("unsupported", `step "${s.name}" waits for ${parent}.${status}; a GitHub matrix job reports one result for all its instances`, s.loc),
    };
    this.mainStarts = new JobStarts(this.wf.steps, host);
    this.exitStarts = new JobStarts(this.wf.onExit ?? [], host);
  }

  /**
   * A step that reads the result or an output of a step its own condition may skip: `couler run`
   * fails the reader as errored (the value does not exist), GitHub gives it empty text.
   */
  private checkSkippedReads(all: readonly Step[]): void {
    for (const s of all) {
      const seen = new Set<string>();
      for (const r of refsOfStep(s)) {
        if ((r.kind !== "result" && r.kind !== "output") || seen.has(r.step)) continue;
        seen.add(r.step);
        const p = this.plans.get(r.step)?.step;
        if (p && this.whenText(p) !== undefined) {
          this.warn(
            "approximated",
            `step "${s.name}" reads an output of "${p.name}", which its condition may skip: on GitHub a skipped job's outputs read as empty text, where the IR fails "${s.name}" as errored`,
            s.loc,
          );
        }
      }
    }
  }

  /** A step's job-level condition (not one on the loop item, which is checked per matrix instance). */
  private whenText(s: Step): string | undefined {
    if (!this.whenTexts.has(s.name)) this.whenTexts.set(s.name, s.when && !this.itemCondition(s) ? this.conditionExpr(s.when, s) : undefined);
    return this.whenTexts.get(s.name);
  }

  /** An empty run-time list would fail the matrix: the job is skipped instead (and counts as succeeded). */
  private guardText(s: Step): string | undefined {
    return s.loop?.kind === "from" ? `toJSON(fromJSON(${this.refExpr(s.loop.source, s)})) != '[]'` : undefined;
  }

  private startsOf(plan: JobPlan): JobStarts {
    return plan.scope === "main" ? this.mainStarts : this.exitStarts;
  }

  /** A single result/output reference of a step that is not fanned out: its text can be compared exactly in hex. */
  private hexable(v: Value): Ref | undefined {
    if (typeof v === "string" || v.kind === "concat") return undefined;
    if (v.kind !== "result" && v.kind !== "output") return undefined;
    return this.plans.get(v.step)?.step.loop ? undefined : v;
  }

  private hexKeyOf(r: Ref): string | undefined {
    if (r.kind !== "result" && r.kind !== "output") return undefined;
    return this.hexKeys.get(`${r.step}\u0000${r.kind === "result" ? "" : r.output}`);
  }

  private planHexOutputs(all: readonly Step[]): void {
    const visit = (c: Condition | undefined): void => {
      if (!c) return;
      if (c.kind === "and" || c.kind === "or") c.of.forEach(visit);
      else if (c.kind === "not") visit(c.of);
      else if (c.op === "eq" || c.op === "ne") {
        const l = this.hexable(c.left);
        const r = this.hexable(c.right);
        const exact = (l && (r || typeof c.right === "string")) || (r && typeof c.left === "string");
        if (!exact) return;
        for (const ref of [l, r]) {
          if (!ref || (ref.kind !== "result" && ref.kind !== "output")) continue;
          const id = `${ref.step}\u0000${ref.kind === "result" ? "" : ref.output}`;
          if (this.hexKeys.has(id)) continue;
          const plan = this.plans.get(ref.step)!;
          const taken = new Set([...plan.keys.values(), ...[...this.hexKeys].filter(([k]) => k.startsWith(`${ref.step}\u0000`)).map(([, v]) => v)]);
          let key = `${plan.keys.get(ref.kind === "result" ? "" : ref.output)!}_hex`;
          while (taken.has(key)) key += "_";
          this.hexKeys.set(id, key);
        }
      }
    };
    for (const s of all) visit(s.when);
  }

  /** A `when` that reads the loop item cannot be a job-level `if:` (no matrix context there). */
  private itemCondition(s: Step): boolean {
    return valuesOfCondition(s.when).some((v) => refsOfValue(v).some((r) => r.kind === "item"));
  }

  // ------------------------------------------------------------------ workflow level

  allSecretNames(): string[] {
    const names = new Set<string>();
    for (const s of [...this.wf.steps, ...(this.wf.onExit ?? [])]) {
      if (isPodStep(s)) for (const e of s.secretEnv ?? []) names.add(this.secretName(e.secret, e.key, s.loc));
    }
    return [...names].sort();
  }

  secretName(secret: string, key: string, loc: Loc): string {
    const k = `${secret}\u0000${key}`;
    const have = this.secretNames.get(k);
    if (have !== undefined) return have;
    const n = githubSecretName(secret, key);
    const owner = this.secretOwner.get(n);
    if (owner !== undefined) this.error("name-collision", `secret "${secret}" key "${key}" and ${owner} both map to the GitHub secret ${n}; rename one`, loc);
    this.secretOwner.set(n, `secret "${secret}" key "${key}"`);
    this.secretNames.set(k, n);
    return n;
  }

  // ------------------------------------------------------------------ values

  /** The expression for a reference, seen from `s`'s job. */
  private refExpr(r: Ref, s: Step): string {
    switch (r.kind) {
      case "param": {
        const p = this.wf.params.find((x) => x.name === r.name);
        const input = property("inputs", r.name);
        // A scheduled run has no inputs: it takes the default. toJSON keeps '' distinct from "absent".
        if (this.scheduled && p?.default !== undefined) {
          return `fromJSON(github.event_name == 'schedule' && ${stringLiteral(JSON.stringify(p.default))} || toJSON(${input}))`;
        }
        return input;
      }
      case "result":
      case "output": {
        const plan = this.plans.get(r.step)!;
        const key = plan.keys.get(r.kind === "result" ? "" : r.output)!;
        return property("needs", plan.collector ?? plan.id, "outputs", key);
      }
      case "item": {
        const loop = s.loop;
        if (!loop) {
          this.error("internal", `step "${s.name}" reads a loop item but has no loop`, s.loc);
          return "''";
        }
        if (loop.kind === "items") {
          if (r.field !== undefined) this.error("unsupported", `step "${s.name}" reads field "${r.field}" of a static item`, s.loc);
          return r.index !== undefined && (loop.items[0]?.length ?? 1) > 1 ? `matrix.item${r.index}` : "matrix.item";
        }
        return r.field !== undefined ? property("matrix", "item", r.field) : "matrix.item";
      }
      case "workflow":
        if (r.field === "name") return "format('{0}-{1}', github.workflow, github.run_id)";
        return this.statusExpr(s);
    }
  }

  /** The workflow's status as exit handlers see it: `Failed` when a main job failed or was cancelled, else `Succeeded`. */
  private statusExpr(s: Step): string {
    if (this.plans.get(s.name)!.scope !== "onExit") {
      this.error("unsupported", `step "${s.name}" reads the workflow status, which is only known in exit handlers`, s.loc);
      return "''";
    }
    if (!this.statusWarned) {
      this.statusWarned = true;
      this.warn(
        "approximated",
        `step "${s.name}" reads the workflow status: GitHub has no Error status, so a run whose only failures are steps that could not start (Error in the IR) reads Failed`,
        s.loc,
      );
    }
    const bad = this.mainNames.flatMap((n) => {
      const r = property("needs", this.plans.get(n)!.id, "result");
      return [`${r} == 'failure'`, `${r} == 'cancelled'`];
    });
    return bad.length ? `((${bad.join(" || ")}) && 'Failed' || 'Succeeded')` : "'Succeeded'";
  }

  /** A value as a template string (user text literal, references as `${{ }}`). */
  template(v: Value, s: Step): string {
    const parts = typeof v === "string" ? [v] : v.kind === "concat" ? v.parts : [v];
    return parts.map((p) => (typeof p === "string" ? templateText(p) : wrap(this.refExpr(p, s)))).join("");
  }

  /** A value as one expression yielding its text. */
  private valueExpr(v: Value, s: Step): string {
    const parts = typeof v === "string" ? [v] : v.kind === "concat" ? v.parts : [v];
    const exprs = parts.map((p) => (typeof p === "string" ? stringLiteral(p) : this.refExpr(p, s)));
    if (exprs.length === 1) return exprs[0]!;
    return `format('${exprs.map((_, i) => `{${i}}`).join("")}', ${exprs.join(", ")})`;
  }

  private numberExpr(v: Value, s: Step): string {
    if (typeof v === "string" && /^-?\d+(\.\d+)?$/.test(v)) return v;
    return `fromJSON(${this.valueExpr(v, s)})`;
  }

  private conditionExpr(c: Condition, s: Step): string {
    switch (c.kind) {
      case "compare": {
        if (c.op === "eq" || c.op === "ne") {
          const op = c.op === "eq" ? "==" : "!=";
          const hexSide = (v: Value): string | undefined => {
            if (typeof v === "string") return stringLiteral(Buffer.from(v, "utf8").toString("hex"));
            const r = this.hexable(v);
            const key = r && this.hexKeyOf(r);
            if (!r || !key || (r.kind !== "result" && r.kind !== "output")) return undefined;
            const plan = this.plans.get(r.step)!;
            return property("needs", plan.id, "outputs", key);
          };
          const hl = hexSide(c.left);
          const hr = hexSide(c.right);
          if (hl && hr && !(typeof c.left === "string" && typeof c.right === "string")) return `${hl} ${op} ${hr}`;
          const runtime = (v: Value) => refsOfValue(v).some((r) => r.kind !== "workflow");
          const letterFree = (v: Value) => typeof v === "string" && caseless(v);
          if ((runtime(c.left) || runtime(c.right)) && !letterFree(c.left) && !letterFree(c.right)) {
            this.warn(
              "case-insensitive",
              `step "${s.name}": GitHub compares text ignoring case, so this condition treats e.g. "A" and "a" as equal`,
              s.loc,
            );
          }
          return `${this.valueExpr(c.left, s)} ${op} ${this.valueExpr(c.right, s)}`;
        }
        const op = { gt: ">", lt: "<", ge: ">=", le: "<=" }[c.op];
        return `${this.numberExpr(c.left, s)} ${op} ${this.numberExpr(c.right, s)}`;
      }
      case "and":
      case "or":
        return `(${c.of.map((x) => this.conditionExpr(x, s)).join(c.kind === "and" ? " && " : " || ")})`;
      case "not":
        return `!(${this.conditionExpr(c.of, s)})`;
    }
  }

  // ------------------------------------------------------------------ ordering

  /**
   * `needs` and `if:` for a job: the parents, the steps it reads, and the start rule chosen
   * by `analyseMain`. Exit-handler jobs need every main job and start with `always()`.
   */
  private ordering(plan: JobPlan): { needs: string[]; cond: string[] } {
    const s = plan.step;
    const needs = new Set<string>();
    const cond: string[] = [];
    for (const p of parentsOf(s)) needs.add(p);
    for (const p of producersOf(s)) needs.add(p);
    const jobNeeds = new Set<string>();
    for (const name of needs) {
      const p = this.plans.get(name)!;
      const readsOutputs = refsOfStep(s).some((r) => (r.kind === "result" || r.kind === "output") && r.step === name);
      jobNeeds.add(readsOutputs && p.collector ? p.collector : p.id);
      // a consumer of a collector still checks the producer's own result
      if (p.collector) jobNeeds.add(p.id);
    }
    const when = this.whenText(s);
    const guard = this.guardText(s);
    const starts = this.startsOf(plan);
    if (plan.scope === "onExit") {
      for (const n of this.mainNames) jobNeeds.add(this.plans.get(n)!.id);
      cond.push("always()");
      if (s.depends) {
        const rule = starts.startRule(s);
        for (const n of rule.needs) jobNeeds.add(n);
        if (rule.text !== "true") cond.push(rule.text);
      }
    } else if (!starts.isDefault(s)) {
      const rule = starts.startRule(s);
      for (const n of rule.needs) jobNeeds.add(n);
      cond.push("!cancelled()");
      if (rule.text !== "true") cond.push(rule.text);
    } else if (s.depends && (when !== undefined || guard !== undefined)) cond.push("!failure()", "!cancelled()");
    else if (when !== undefined || guard !== undefined) cond.push("!cancelled()");
    if (when !== undefined) cond.push(when);
    if (guard !== undefined) cond.push(guard);
    return { needs: [...jobNeeds].sort((a, b) => this.jobOrder.get(a)! - this.jobOrder.get(b)!), cond };
  }

  // ------------------------------------------------------------------ jobs

  private job(plan: JobPlan): Json {
    const s = plan.step as PodStep;
    const job: Json = {};
    if (plan.id !== s.name && !s.loop) job.name = templateText(s.name);
    const { needs, cond } = this.ordering(plan);
    if (needs.length) job.needs = needs;
    if (cond.length) job.if = wrap(cond.join(" && "));
    job["runs-on"] = s.runsOn ? runnerValue(s.runsOn) : this.runsOn;
    const minutes = this.timeoutMinutes(s);
    if (minutes !== undefined) job["timeout-minutes"] = minutes;
    if (s.loop) job.strategy = this.strategy(s);
    job.container = container(this, s);

    // Per-item conditions can only be steps' `if:` (a job's `if:` has no matrix context).
    const stepIf = s.when && this.itemCondition(s) ? wrap(this.conditionExpr(s.when, s)) : undefined;
    if (stepIf) {
      this.warn(
        "approximated",
        `step "${s.name}": a condition on the loop item is checked inside each matrix job, so an instance whose condition is false still starts and ends as succeeded, not skipped`,
        s.loc,
      );
    }
    const steps: Json[] = [];
    const itemCond = stepIf ? this.conditionExpr(s.when!, s) : undefined;
    const add = (st: Json, extra?: string) => {
      const c = [itemCond, extra].filter((x): x is string => x !== undefined);
      steps.push(c.length ? { if: wrap(c.join(" && ")), ...st } : st);
    };
    const captureResult = this.resultRead.has(s.name);
    const fanIn = !!plan.collector;
    const outputs: { key: string; path: string; hex?: string }[] = (s.outputs ?? []).map((o) => {
      const hex = this.hexKeys.get(`${s.name}\u0000${o.name}`);
      return { key: plan.keys.get(o.name)!, path: o.path ?? "", ...(hex ? { hex } : {}) };
    });
    if (captureResult) {
      const hex = this.hexKeys.get(`${s.name}\u0000`);
      outputs.unshift({ key: "result", path: "", ...(hex ? { hex } : {}) });
    }
    // Memoization: restore the step's outputs by key; on a hit the program does not run.
    const miss = s.cache ? "steps.cache.outputs.cache-hit != 'true'" : undefined;
    if (s.cache) for (const st of cacheRestoreSteps(this, s)) add(st);
    for (const st of inputArtifactSteps(this, s)) add(st, miss);
    add(runStep(this, s), miss);
    let read = outputs;
    if (s.cache) {
      const kept = cacheSaveSteps(this, s, outputs);
      add(kept[0]!, miss);
      add(kept[1]!, miss);
      read = outputs.map((o) => ({ ...o, path: `$RUNNER_TEMP/couler-cache/${o.key}` }));
    }
    if (outputs.length) {
      add(outputsStep(this, read, fanIn));
      if (fanIn) {
        add({
          name: "keep outputs for fan-in",
          uses: ACTIONS.upload,
          with: {
            name: `couler-fanin-${plan.id}-${wrap("strategy.job-index")}`,
            path: `${wrap("runner.temp")}/couler-fanin`,
            "if-no-files-found": "error",
            "retention-days": 1,
            overwrite: true,
          },
        });
      } else {
        const outs: Json = {};
        for (const o of outputs) {
          outs[o.key] = wrap(`steps.outputs.outputs.${o.key}`);
          if (o.hex) outs[o.hex] = wrap(`steps.outputs.outputs.${o.hex}`);
        }
        job.outputs = outs;
      }
    }
    for (const st of outputArtifactSteps(this, s, plan)) add(st);
    if (this.startsOf(plan).handled.has(s.name)) {
      // Some step runs on this one's failure, so its failure must not fail the run (the IR's
      // final status rule): continue-on-error makes GitHub report the job as `success`
      // (actions/runner#1161), so the job also says it failed in an output its dependents read.
      job["continue-on-error"] = true;
      steps.push({ id: "couler-status", name: "report failure", if: wrap("!success()"), shell: "sh", run: `echo "failed=true" >> "$GITHUB_OUTPUT"\n` });
      job.outputs = { ...((job.outputs as Json | undefined) ?? {}), [FAILED_OUTPUT]: wrap("steps.couler-status.outputs.failed") };
    }
    job.steps = steps;
    this.checkExpressions(job, `step "${s.name}"`, s.loc);
    return job;
  }

  /** Every string of `value` that GitHub turns into an expression must stay under its length cap. */
  private checkExpressions(value: unknown, where: string, loc: Loc): void {
    const walk = (v: unknown): void => {
      if (typeof v === "string") {
        if (v.includes("${{") && expressionLength(v) > MAX_EXPRESSION) {
          this.error(
            "too-long",
            `${where}: a value of ${v.length} characters holds \${{ and would become a GitHub expression longer than ${MAX_EXPRESSION} characters; shorten it or drop the \${{`,
            loc,
          );
        }
      } else if (Array.isArray(v)) v.forEach(walk);
      else if (v && typeof v === "object") Object.values(v).forEach(walk);
    };
    walk(value);
  }

  private timeoutMinutes(s: Step): number | undefined {
    let m: number | undefined;
    if (s.timeout !== undefined) {
      m = Math.ceil(s.timeout / 60);
      if (s.timeout % 60 !== 0) this.warn("approximated", `step "${s.name}": timeout ${s.timeout}s becomes timeout-minutes: ${m} (GitHub counts whole minutes)`, s.loc);
    }
    if (this.wfTimeoutMinutes !== undefined) m = m === undefined ? this.wfTimeoutMinutes : Math.min(m, this.wfTimeoutMinutes);
    if (s.timeout !== undefined && s.retry) {
      this.warn("approximated", `step "${s.name}": the retries run inside one job, so its timeout-minutes covers all attempts together, not each one`, s.loc);
    }
    return m;
  }

  private strategy(s: Step): Json {
    const loop = s.loop!;
    const st: Json = {};
    if (loop.kind === "items") {
      if (loop.items.length > MAX_MATRIX) {
        this.error("matrix-too-large", `step "${s.name}" fans out over ${loop.items.length} items; a GitHub matrix runs at most ${MAX_MATRIX} jobs`, s.loc);
      }
      const width = loop.items[0]?.length ?? 1;
      st.matrix =
        width === 1
          ? { item: loop.items.map((row) => templateText(row[0] ?? "")) }
          : { include: loop.items.map((row) => Object.fromEntries(row.map((v, i) => [`item${i}`, templateText(v)]))) };
    } else {
      st.matrix = { item: wrap(`fromJSON(${this.refExpr(loop.source, s)})`) };
    }
    st["fail-fast"] = false;
    if (loop.parallelism !== undefined) st["max-parallel"] = loop.parallelism;
    return st;
  }

}

export const githubBackend: Backend = {
  name: "github",
  description: "GitHub Actions: a workflow file (.github/workflows/<name>.yml), one job per step",
  capabilities,
  options: {
    "runs-on": { description: "runner label(s) for every job, comma-separated", default: "ubuntu-latest" },
    permissions: {
      description: "GITHUB_TOKEN permissions: scope:level pairs, comma-separated (e.g. contents:read,packages:write), or read-all, write-all, none",
      default: "contents:read",
    },
    concurrency: { description: "a concurrency group name (literal text) for the workflow's runs; empty: none" },
    "cancel-in-progress": { description: "with a concurrency group: cancel a running run when a new one starts", values: ["true", "false"], default: "false" },
    compare: {
      description:
        "text comparisons in conditions: text (GitHub's ==, which ignores case; a warning says so) or exact (outputs compared as hex, published by the producing job)",
      values: ["text", "exact"],
      default: "text",
    },
  },
  goldenVariants: [
    {
      name: "options",
      options: { "runs-on": "self-hosted,linux", permissions: "contents:read,packages:write", concurrency: "deploy", "cancel-in-progress": "true", compare: "exact" },
    },
  ],
  compile(wf: WorkflowIR, ctx: CompileContext): OutputFile[] {
    return new GithubCompiler(wf, ctx).compile();
  },
  joinForStdout(files: readonly OutputFile[]): string {
    return files.map((f) => `# ${f.path}\n${f.content}`).join("---\n");
  },
};
