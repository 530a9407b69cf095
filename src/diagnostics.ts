/**
 * Diagnostics: every problem found in a workflow is one of these, located at the
 * DSL call in the user's `.ts` file that caused it. They are collected, never thrown
 * one at a time, and printed sorted as `file:line:col: severity: message`.
 */
import type { Loc } from "./ir/types.js";

export type Severity = "error" | "warning";

export interface Diagnostic {
  readonly severity: Severity;
  readonly message: string;
  /** Where in the user's program; absent only for problems with no source (a bad CLI flag). */
  readonly loc?: Loc;
  /** Short machine-readable code, e.g. `cycle`, `unknown-step`, `unsupported`. */
  readonly code: string;
}

export function error(code: string, message: string, loc?: Loc): Diagnostic {
  return loc ? { severity: "error", code, message, loc } : { severity: "error", code, message };
}

export function warning(code: string, message: string, loc?: Loc): Diagnostic {
  return loc ? { severity: "warning", code, message, loc } : { severity: "warning", code, message };
}

/** A collection point that backends, validators and the DSL all report into. */
export class DiagnosticBag {
  readonly items: Diagnostic[] = [];
  add(d: Diagnostic): void {
    this.items.push(d);
  }
  error(code: string, message: string, loc?: Loc): void {
    this.items.push(error(code, message, loc));
  }
  warning(code: string, message: string, loc?: Loc): void {
    this.items.push(warning(code, message, loc));
  }
  get hasErrors(): boolean {
    return this.items.some((d) => d.severity === "error");
  }
}

/** Thrown when a step of the pipeline cannot go on; carries everything collected so far. */
export class DiagnosticError extends Error {
  constructor(readonly diagnostics: readonly Diagnostic[]) {
    super(diagnostics.map((d) => d.message).join("\n"));
    this.name = "DiagnosticError";
  }
}

function compareLoc(a?: Loc, b?: Loc): number {
  if (!a && !b) return 0;
  if (!a) return -1;
  if (!b) return 1;
  if (a.file !== b.file) return a.file < b.file ? -1 : 1;
  return a.line - b.line || a.col - b.col;
}

/** Sorted by file, line, column, then message; exact duplicates removed. */
export function sortDiagnostics(ds: readonly Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  const out: Diagnostic[] = [];
  for (const d of ds) {
    const key = `${d.loc?.file}:${d.loc?.line}:${d.loc?.col}:${d.severity}:${d.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(d);
  }
  return out.sort(
    (a, b) =>
      compareLoc(a.loc, b.loc) ||
      (a.severity === b.severity ? 0 : a.severity === "error" ? -1 : 1) ||
      (a.message < b.message ? -1 : a.message > b.message ? 1 : 0),
  );
}

/**
 * `file:line:col: error: message`. `displayFile` maps the IR's file (relative to the
 * workflow file's folder) to what the user should see (relative to their cwd).
 */
export function formatDiagnostic(d: Diagnostic, displayFile: (file: string) => string = (f) => f): string {
  const where = d.loc ? `${displayFile(d.loc.file)}:${d.loc.line}:${d.loc.col}: ` : "couler: ";
  return `${where}${d.severity}: ${d.message}`;
}

export function levenshtein(a: string, b: string): number {
  if (a === b) return 0;
  const prev = new Array<number>(b.length + 1);
  for (let j = 0; j <= b.length; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j]!;
      prev[j] = Math.min(prev[j]! + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length]!;
}

/** `retries` → `retry`, `outputs` → `output`: plurals name the same option. */
function singular(w: string): string {
  if (w.length > 4 && w.endsWith("ies")) return `${w.slice(0, -3)}y`;
  if (w.length > 3 && w.endsWith("s") && !w.endsWith("ss")) return w.slice(0, -1);
  return w;
}

function sharedStart(a: string, b: string): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}

/**
 * The closest candidate, if any is close enough: the same word in another number or case
 * (`retries` → `retry`), then the nearest by edit distance within a limit that scales with
 * the name's length, then the only candidate sharing a long start (`runStep` → `runScript`).
 */
export function didYouMean(name: string, candidates: Iterable<string>): string | undefined {
  const list = [...new Set(candidates)];
  const lower = name.toLowerCase();
  const stem = singular(lower);
  const same = list.filter((c) => singular(c.toLowerCase()) === stem).sort();
  if (same.length) return same[0];
  let best: string | undefined;
  let bestDist = Infinity;
  const limit = Math.max(2, Math.floor(name.length / 3));
  for (const c of list) {
    const d = Math.min(levenshtein(lower, c.toLowerCase()), levenshtein(stem, singular(c.toLowerCase())));
    if (d < bestDist || (d === bestDist && best !== undefined && c < best)) {
      best = c;
      bestDist = d;
    }
  }
  if (best !== undefined && bestDist <= limit) return best;
  let longest = 0;
  let near: string[] = [];
  for (const c of list) {
    const n = sharedStart(lower, c.toLowerCase());
    if (n > longest) [longest, near] = [n, [c]];
    else if (n === longest) near.push(c);
  }
  return near.length === 1 && longest >= 4 && longest * 2 >= Math.min(name.length, near[0]!.length) ? near[0] : undefined;
}

/** ` (did you mean "x"?)` or an empty string. */
export function suggest(name: string, candidates: Iterable<string>): string {
  const m = didYouMean(name, candidates);
  return m === undefined ? "" : ` (did you mean "${m}"?)`;
}
