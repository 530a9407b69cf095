/**
 * Deterministic name mangling for targets with stricter name rules than the IR. A name is
 * kept when the target accepts it; otherwise it is mapped by fixed rules and, when too
 * long, cut and suffixed with a short hash of the original (cdk8s style), never with a
 * counter or randomness. Two IR names that end up the same are reported, not merged.
 */
import { createHash } from "node:crypto";
import type { DiagnosticBag } from "../../src/diagnostics.js";
import type { Loc } from "../../src/ir/types.js";

export interface NameRule {
  /** What the target calls these names, for messages (`Argo task name`). */
  readonly what: string;
  readonly target: string;
  readonly valid: RegExp;
  readonly maxLength: number;
  /** Map an invalid name to a valid one (before length limiting). */
  readonly fix: (name: string) => string;
}

export function shortHash(s: string, n = 8): string {
  return createHash("sha256").update(s).digest("hex").slice(0, n);
}

/** `fix`, then shorten to `maxLength` keeping a hash of the original. */
export function mangle(name: string, rule: NameRule): string {
  if (rule.valid.test(name) && name.length <= rule.maxLength) return name;
  let m = rule.fix(name);
  if (m.length > rule.maxLength || m !== name) {
    if (m.length > rule.maxLength) {
      const h = shortHash(name);
      m = `${m.slice(0, rule.maxLength - h.length - 1).replace(/[-_.]+$/, "")}-${h}`;
    }
  }
  return m;
}

/** A per-workflow table from IR names to target names; reports collisions. */
export class NameTable {
  private readonly map = new Map<string, string>();
  private readonly owner = new Map<string, string>();
  constructor(
    private readonly rule: NameRule,
    private readonly diagnostics: DiagnosticBag,
  ) {}

  /** Reserve a target name that no IR name may take (e.g. an entry template). */
  reserve(targetName: string, why: string): void {
    this.owner.set(targetName, why);
  }

  add(name: string, loc: Loc): string {
    const have = this.map.get(name);
    if (have !== undefined) return have;
    const m = mangle(name, this.rule);
    const clash = this.owner.get(m);
    if (clash !== undefined) {
      this.diagnostics.error(
        "name-collision",
        `"${name}" and ${clash} both become ${this.rule.what} "${m}" on target ${this.rule.target}; rename one of them`,
        loc,
      );
    }
    this.owner.set(m, `"${name}"`);
    this.map.set(name, m);
    return m;
  }

  get(name: string): string {
    return this.map.get(name) ?? mangle(name, this.rule);
  }

  has(targetName: string): boolean {
    return this.owner.has(targetName);
  }
}
