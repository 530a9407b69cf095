/**
 * Values in a KFP spec: text with input placeholders for container fields, and CEL for
 * trigger conditions.
 *
 * A container's command and args reach the pod through the driver and the launcher, which
 * both substitute placeholders by plain text replacement (backend/src/v2/driver/util.go
 * `resolveContainerArgs`, backend/src/v2/component/launcher_v2.go `compileCmdAndArgs`), and
 * then through Kubernetes, which expands `$(VAR)` (the pod runs the launcher with the user's
 * argv as its args). There is no escape for a literal `{{$`, so such text is refused; `$` is
 * doubled where Kubernetes would read it (common/kube.ts).
 */
import type { Condition, Loc, Ref, Value } from "../../src/ir/types.js";
import { kubeLiteral } from "../common/kube.js";

/** Why a literal cannot be written into a container field, or undefined when it can. */
export function unsafeLiteral(s: string): string | undefined {
  if (s.includes("{{$")) return "contains `{{$`, which the KFP driver and launcher read as a placeholder (KFP has no escape for it)";
  if (/^\s*\{"IfPresent":/.test(s)) return 'starts with `{"IfPresent":`, which the KFP driver reads as a placeholder clause';
  return undefined;
}

export const placeholder = (key: string) => `{{$.inputs.parameters['${key}']}}`;
export const outputFile = (name: string) => `{{$.outputs.parameters['${name}'].output_file}}`;

export type KeyOf = (r: Ref) => string;

/**
 * Text for a container's command, args or env value: literals as Kubernetes must see them,
 * references as input placeholders. `kube`: the field is expanded by Kubernetes.
 */
export function containerText(v: Value, keyOf: KeyOf, kube: boolean, problem: (msg: string) => void): string {
  const parts = typeof v === "string" ? [v] : v.kind === "concat" ? v.parts : [v];
  let out = "";
  parts.forEach((p, i) => {
    if (typeof p === "string") {
      const why = unsafeLiteral(p);
      if (why) problem(`the text ${JSON.stringify(p.length > 60 ? `${p.slice(0, 60)}…` : p)} ${why}`);
      out += kube ? kubeLiteral(p, i + 1 < parts.length) : p;
    } else out += placeholder(keyOf(p));
  });
  return out;
}

/** A CEL string literal (cel-go accepts these escapes in single-quoted strings). */
export function celString(s: string): string {
  let out = "'";
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === "\\") out += "\\\\";
    else if (ch === "'") out += "\\'";
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (c < 0x20 || (c >= 0x7f && c <= 0x9f) || c === 0x2028 || c === 0x2029 || c === 0xfeff) out += `\\u${c.toString(16).padStart(4, "0")}`;
    else out += ch;
  }
  return `${out}'`;
}

const CEL_OP: Record<string, string> = { eq: "==", ne: "!=", gt: ">", lt: "<", ge: ">=", le: "<=" };
const NUMBER = /^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/;

/** The IR's workflow states as KFP's PipelineTaskFinalStatus.state spells them. */
export const KFP_STATE: Readonly<Record<string, string>> = { Succeeded: "SUCCEEDED", Failed: "FAILED", Error: "FAILED" };

/**
 * A trigger condition as the KFP SDK writes them, reading the task's own inputs:
 * `inputs.parameter_values['pipelinechannel--flip-coin-Output'] == 'heads'`; numbers compare
 * as `double(...)`; the workflow status is the `state` of the exit handler's final status.
 */
export function celCondition(c: Condition, keyOf: KeyOf, loc: Loc, problem: (msg: string, loc: Loc) => void, top = true): string {
  switch (c.kind) {
    case "compare": {
      const numeric = c.op !== "eq" && c.op !== "ne";
      const isStatus = (v: Value) => typeof v === "object" && v.kind === "workflow" && v.field === "status";
      const statusCmp = isStatus(c.left) || isStatus(c.right);
      const side = (v: Value): string => {
        if (typeof v === "string") {
          if (statusCmp) {
            const st = KFP_STATE[v];
            if (st === undefined) problem(`the workflow status is compared with ${JSON.stringify(v)}; KFP knows the states ${Object.keys(KFP_STATE).join(", ")}`, loc);
            return celString(st ?? v);
          }
          if (numeric) {
            if (!NUMBER.test(v.trim())) problem(`a numeric comparison needs a number, got ${JSON.stringify(v)}`, loc);
            const n = Number(v);
            return Number.isInteger(n) ? `${n}.0` : String(n);
          }
          return celString(v);
        }
        const parts = v.kind === "concat" ? v.parts : [v];
        const text = parts
          .map((p) => {
            if (typeof p === "string") return celString(p);
            const read = `inputs.parameter_values['${keyOf(p)}']`;
            if (p.kind === "workflow" && p.field === "status") return `${read}.state`;
            // a field of a JSON item may be a number or bool once selected: compare its text
            if (p.kind === "item" && (p.field !== undefined || p.index !== undefined) && !numeric) return `string(${read})`;
            return read;
          })
          .join(" + ");
        const grouped = parts.length > 1 ? `(${text})` : text;
        return numeric ? `double(${grouped})` : grouped;
      };
      return `${side(c.left)} ${CEL_OP[c.op]} ${side(c.right)}`;
    }
    case "not":
      return `!(${celCondition(c.of, keyOf, loc, problem, true)})`;
    case "and":
    case "or": {
      const text = c.of.map((x) => celCondition(x, keyOf, loc, problem, false)).join(c.kind === "and" ? " && " : " || ");
      return top ? text : `(${text})`;
    }
  }
}
