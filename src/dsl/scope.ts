/**
 * The workflow scope: everything one `workflow(name, body)` call collects.
 *
 * There is no module-level workflow state. `workflow()` creates a scope and runs the body
 * inside it with `AsyncLocalStorage`, so DSL calls in the body find their scope, and two
 * workflows built in one process (even interleaved) never see each other's steps.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { dirname, relative, sep } from "node:path";
import { DiagnosticBag } from "../diagnostics.js";
import type { Condition, DepOn, Depends, Loc, Loop, Param, SecretDecl, Step, WorkflowConfig } from "../ir/types.js";
import { type AbsLoc, callerLoc } from "./location.js";

type DistOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** A step while the body runs: its dependencies are still being collected. */
export interface StepDraft {
  step: DistOmit<Step, "depends">;
  /** Conjuncts of the step's `depends`; each is an edge or an expression. */
  deps: Depends[];
  /** Created with no predecessor inside a DAG section: gets the section's entry frontier. */
  sectionRoot?: boolean;
  /** For a while step: the drafts of its body. */
  body?: StepDraft[];
}

/** A map() call waiting for the one step its function creates. */
export interface PendingLoop {
  loop: Loop;
  created: string[];
}

interface Section {
  kind: "dag" | "setDependencies";
  /** What a step with no declared predecessor in the section waits for. */
  entry: Depends[];
  nodes: string[];
}

/** One sequence: top-level calls, or one branch of `concurrent`. */
interface Sequence {
  frontier: Depends[];
  section?: Section;
}

export class WorkflowScope {
  readonly diagnostics = new DiagnosticBag();
  /** The main graph's steps. */
  readonly steps: StepDraft[] = [];
  /** The exit handler's steps. */
  readonly onExit: StepDraft[] = [];
  /** Where new steps go: the main list, a while body, or the exit handler. */
  private readonly lists: StepDraft[][] = [this.steps];
  /** Every step at any depth: step names are unique in the whole workflow. */
  readonly byName = new Map<string, StepDraft>();
  /** Conditions of the enclosing `when` / otherwise / exit-handler blocks. */
  readonly conditions: Condition[] = [];
  /** Inside setExitHandler()'s function. */
  inExitHandler = false;
  /** Set by map() while its function runs. */
  pendingLoop: PendingLoop | undefined;
  readonly secrets: SecretDecl[] = [];
  /** Secret values of createSecret(): kept out of the IR, handed to backends only on request. */
  readonly secretValues = new Map<string, Readonly<Record<string, string>>>();
  readonly params: Param[] = [];
  config: { -readonly [K in keyof WorkflowConfig]: WorkflowConfig[K] } = {};
  /** The workflow's own name; `configWorkflow({ name })` may change it. */
  name: string;
  readonly baseDir: string;
  readonly loc: Loc;
  private readonly autoNames = new Map<string, number>();
  /** Absolute path → path relative to `baseDir`: one `relative()` per file, not per call. */
  private readonly relFiles = new Map<string, string>();
  private readonly sequences: Sequence[] = [{ frontier: [] }];
  /** Inside `dag([...])`: steps get no automatic edges; a repeated name returns the existing step. */
  dagDepth = 0;
  /** Inside `setDependencies(fn, deps)`'s `fn`. */
  inSetDeps = 0;
  /** The step most recently created or looked up (what a `dag` chain element stands for). */
  lastTouched: string | undefined;

  constructor(name: string, at: AbsLoc | undefined) {
    this.name = name;
    this.baseDir = at ? dirname(at.path) : process.cwd();
    this.loc = this.relLoc(at);
  }

  relLoc(at: AbsLoc | undefined): Loc {
    if (!at) return { file: "<unknown>", line: 0, col: 0 };
    let file = this.relFiles.get(at.path);
    if (file === undefined) {
      file = relative(this.baseDir, at.path).split(sep).join("/") || at.path;
      this.relFiles.set(at.path, file);
    }
    return { file, line: at.line, col: at.col };
  }

  /** The user's location of the DSL call being made now. */
  here(): Loc {
    return this.relLoc(callerLoc());
  }

  get seq(): Sequence {
    return this.sequences[this.sequences.length - 1]!;
  }

  /** A name for a step: the user's, or `base`, `base-2`, `base-3`... in call order. */
  autoName(base: string): string {
    let n = this.autoNames.get(base) ?? 0;
    let name: string;
    do {
      n++;
      name = n === 1 ? base : `${base}-${n}`;
    } while (this.byName.has(name));
    this.autoNames.set(base, n);
    return name;
  }

  /** Register a new step and wire its dependencies according to where it was called. */
  addStep(draft: StepDraft): void {
    this.lists[this.lists.length - 1]!.push(draft);
    if (!this.byName.has(draft.step.name)) this.byName.set(draft.step.name, draft);
    if (this.conditions.length) {
      const own = (draft.step as { when?: Condition }).when;
      const all = [...this.conditions, ...(own ? [own] : [])];
      (draft.step as { when?: Condition }).when = all.length === 1 ? all[0]! : { kind: "and", of: all };
    }
    if (this.pendingLoop) {
      this.pendingLoop.created.push(draft.step.name);
      if (this.pendingLoop.created.length === 1) (draft.step as { loop?: Loop }).loop = this.pendingLoop.loop;
    }
    const seq = this.seq;
    if (this.dagDepth > 0) {
      seq.section!.nodes.push(draft.step.name);
      draft.sectionRoot = true;
      return;
    }
    if (seq.section && seq.section.kind === "setDependencies" && this.inSetDeps > 0) {
      seq.section.nodes.push(draft.step.name);
      if (seq.frontier.length === 0) draft.sectionRoot = true;
      draft.deps.push(...seq.frontier);
      seq.frontier = [on(draft.step.name)];
      return;
    }
    this.closeSection();
    draft.deps.push(...this.seq.frontier);
    this.seq.frontier = [on(draft.step.name)];
  }

  /** Run `fn` as one branch that starts from the current frontier; returns the branch's end frontier. */
  branch(fn: () => void): Depends[] {
    this.closeSection();
    this.sequences.push({ frontier: [...this.seq.frontier] });
    let ended: Sequence;
    try {
      fn();
      this.closeSection();
    } finally {
      ended = this.sequences.pop()!;
    }
    return ended.frontier;
  }

  setFrontier(f: Depends[]): void {
    this.seq.frontier = f;
  }

  openSection(kind: Section["kind"]): Section {
    const seq = this.seq;
    if (seq.section && seq.section.kind === kind && kind === "setDependencies") return seq.section;
    this.closeSection();
    seq.section = { kind, entry: [...seq.frontier], nodes: [] };
    return seq.section;
  }

  /**
   * End the open DAG section of the current sequence: steps with no predecessor in it wait
   * for what came before the section; the next step waits for the section's sinks.
   */
  closeSection(): void {
    const seq = this.seq;
    const sec = seq.section;
    if (!sec) return;
    seq.section = undefined;
    const inSection = new Set(sec.nodes);
    const hasSuccessor = new Set<string>();
    const atoms: DepOn[] = [];
    for (const name of sec.nodes) {
      const d = this.byName.get(name)!;
      let fromSection = false;
      for (const dep of d.deps) {
        atoms.length = 0;
        for (const a of atomsOf(dep, atoms)) {
          if (inSection.has(a.step)) {
            hasSuccessor.add(a.step);
            fromSection = true;
          }
        }
      }
      if (d.sectionRoot && !fromSection) d.deps.unshift(...sec.entry);
      delete d.sectionRoot;
    }
    const seen = new Set<string>();
    seq.frontier = sec.nodes.filter((n) => !hasSuccessor.has(n) && !seen.has(n) && seen.add(n)).map((n) => on(n));
  }

  /**
   * Run `fn` with new steps going into `list` (a while body or the exit handler), as a
   * sequence of its own that starts with no predecessor.
   */
  inList(list: StepDraft[], fn: () => void): void {
    this.closeSection();
    this.lists.push(list);
    this.sequences.push({ frontier: [] });
    try {
      fn();
      this.closeSection();
    } finally {
      this.sequences.pop();
      this.lists.pop();
    }
  }

  /** Finish the body: close any open DAG section. */
  finish(): void {
    while (this.sequences.length > 1) this.sequences.pop();
    this.closeSection();
  }
}

export function on(step: string, status: DepOn["status"] = "ok"): DepOn {
  return { kind: "on", step, status };
}

function atomsOf(d: Depends, out: DepOn[] = []): DepOn[] {
  if (d.kind === "on") out.push(d);
  else if (d.kind === "not") atomsOf(d.of, out);
  else for (const x of d.of) atomsOf(x, out);
  return out;
}

const storage = new AsyncLocalStorage<WorkflowScope>();

export function runInScope<T>(scope: WorkflowScope, fn: () => T): T {
  return storage.run(scope, fn);
}

/** The scope of the `workflow()` body being run; a located error outside of one. */
export function currentScope(fnName: string): WorkflowScope {
  const s = storage.getStore();
  if (!s) {
    const at = callerLoc();
    const where = at ? `${at.path}:${at.line}:${at.col}: ` : "";
    throw new Error(`${where}${fnName}() must be called inside the body of workflow(name, () => { ... })`);
  }
  return s;
}
