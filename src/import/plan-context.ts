/**
 * What the planner of one workflow keeps while it walks the Argo document: names given to
 * variables, DSL names used (for the import line), hoisted handle declarations, and the
 * diagnostics and `// couler import:` notes for everything the DSL cannot say.
 */
import { stringify } from "yaml";
import { warning, type Diagnostic } from "../diagnostics.js";
import type { Loc } from "../ir/types.js";
import type { Stmt } from "./plan.js";
import type { Path, YamlDoc } from "./yaml-source.js";

export type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const RESERVED = new Set(
  (
    "break case catch class const continue debugger default delete do else enum export extends false finally for function if import in " +
    "instanceof new null return super switch this throw true try typeof var void while with yield let static implements interface " +
    "package private protected public await async of undefined arguments eval " +
    "process console require module exports globalThis JSON Math Object Array String Number Boolean Date Promise Error Symbol Map Set Buffer"
  ).split(" "),
);

/** DSL exports a generated variable must not shadow. */
const DSL_NAMES = [
  "workflow", "configWorkflow", "param", "concurrent", "dag", "setDependencies", "createSecret", "WFStatus", "runContainer",
  "runScript", "runJob", "runTemplate", "obtainSecret", "createParameterArtifact", "StepHandle", "when", "map", "execWhile",
  "setExitHandler", "equal", "notEqual", "bigger", "smaller", "biggerEqual", "smallerEqual", "and", "or", "not", "workflowName",
  "workflowStatus", "Predicate", "MapItem", "createLocalArtifact", "createS3Artifact", "createGcsArtifact", "createOssArtifact",
  "createGitArtifact", "createHttpArtifact", "addVolume", "createWorkflowVolume", "emptyDirVolume", "VolumeMount",
  "addImagePullSecret", "setDns", "setSecurityContext", "Cache", "ValueRef", "Input", "ArtifactRef",
];

/** `list-shards` → `listShards`; a leading digit gets a `_`. */
export function camel(s: string): string {
  const c = s.replace(/[^A-Za-z0-9]+(.)?/g, (_m, ch: string | undefined) => (ch ? ch.toUpperCase() : "")).replace(/^[A-Z]/, (m) => m.toLowerCase());
  return /^[0-9]/.test(c) ? `_${c}` : c || "_";
}

export class PlanContext {
  readonly imports = new Set<string>(["workflow"]);
  readonly typeImports = new Set<string>();
  readonly diagnostics: Diagnostic[] = [];
  /** `let x!: StepHandle;` declarations for handles assigned inside arrow functions. */
  readonly hoisted: Stmt[] = [];
  private readonly taken = new Set<string>([...RESERVED, ...DSL_NAMES]);
  /** Step name → handle variable (only steps whose outputs something reads). */
  readonly handles = new Map<string, string>();
  readonly params = new Map<string, string>();
  readonly volumes = new Map<string, string>();
  /** Notes about the workflow as a whole. */
  readonly topNotes: string[] = [];

  constructor(
    readonly doc: YamlDoc,
    readonly base: Path,
  ) {}

  use(name: string): string {
    this.imports.add(name);
    return name;
  }

  useType(name: string): string {
    this.typeImports.add(name);
    return name;
  }

  /** A fresh identifier derived from `base`. */
  fresh(base: string): string {
    const b = camel(base);
    let n = b;
    for (let i = 2; this.taken.has(n); i++) n = `${b}${i}`;
    this.taken.add(n);
    return n;
  }

  loc(path: Path): Loc {
    return this.doc.locate(path);
  }

  warn(path: Path, message: string): void {
    this.diagnostics.push(warning("not-imported", message, this.loc(path)));
  }

  /**
   * A field the DSL cannot express: a located warning, and comment lines holding its YAML for
   * the generated file.
   */
  drop(path: Path, what: string, value: unknown, why: string): string[] {
    this.warn(path, `${what}: ${why}; kept as a comment`);
    const key = path[path.length - 1];
    const body = typeof key === "string" ? { [key]: value } : value;
    const yaml = stringify(body, { lineWidth: 0 }).replace(/\n$/, "");
    return [`couler import: ${what}: ${why}`, ...yaml.split("\n").map((l) => `  ${l}`)];
  }
}

/** The keys of `o` not in `known`. */
export function leftovers(o: Obj | undefined, known: readonly string[]): string[] {
  if (!o || typeof o !== "object") return [];
  return Object.keys(o).filter((k) => !known.includes(k));
}
