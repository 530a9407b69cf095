/**
 * Argo-style dependency text, as Couler's `set_dependencies` takes it:
 * `A && (B.Failed || !C.Succeeded)`. A bare name waits for the step to finish without failing.
 */
import type { DepStatus, Depends } from "../ir/types.js";

const STATUS: Record<string, DepStatus> = {
  succeeded: "succeeded",
  failed: "failed",
  errored: "errored",
  skipped: "skipped",
  omitted: "omitted",
  daemoned: "daemoned",
  anysucceeded: "anySucceeded",
  allfailed: "allFailed",
};

export const DEPENDS_STATUS_NAMES = ["Succeeded", "Failed", "Errored", "Skipped", "Omitted", "Daemoned", "AnySucceeded", "AllFailed"];

const BARE_NAME = /^[A-Za-z0-9_-]+$/;

type Tok = { t: "name"; v: string; status?: string } | { t: "op"; v: "&&" | "||" | "!" | "(" | ")" };

function lex(text: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const two = text.slice(i, i + 2);
    if (two === "&&" || two === "||") {
      out.push({ t: "op", v: two });
      i += 2;
      continue;
    }
    if (c === "!" || c === "(" || c === ")") {
      out.push({ t: "op", v: c });
      i++;
      continue;
    }
    const m = /^([A-Za-z0-9_-]+)(?:\.([A-Za-z]+))?/.exec(text.slice(i));
    if (!m) throw new Error(`unexpected ${JSON.stringify(c)} at offset ${i}`);
    out.push(m[2] !== undefined ? { t: "name", v: m[1]!, status: m[2] } : { t: "name", v: m[1]! });
    i += m[0].length;
  }
  return out;
}

/** Parse dependency text; throws an Error whose message says what is wrong. */
export function parseDependsText(text: string): Depends {
  // The common case, a bare step name, needs no tokens.
  if (BARE_NAME.test(text)) return { kind: "on", step: text, status: "ok" };
  const toks = lex(text);
  let pos = 0;
  const peek = () => toks[pos];
  const expectOp = (v: string) => {
    const t = toks[pos];
    if (!t || t.t !== "op" || t.v !== v) throw new Error(`expected "${v}"${t ? ` before "${t.v}"` : " at the end"}`);
    pos++;
  };
  const parseOr = (): Depends => {
    const items = [parseAnd()];
    while (peek()?.t === "op" && peek()!.v === "||") {
      pos++;
      items.push(parseAnd());
    }
    return items.length === 1 ? items[0]! : { kind: "or", of: items };
  };
  const parseAnd = (): Depends => {
    const items = [parseUnary()];
    while (peek()?.t === "op" && peek()!.v === "&&") {
      pos++;
      items.push(parseUnary());
    }
    return items.length === 1 ? items[0]! : { kind: "and", of: items };
  };
  const parseUnary = (): Depends => {
    const t = peek();
    if (!t) throw new Error("expected a step name at the end");
    if (t.t === "op" && t.v === "!") {
      pos++;
      return { kind: "not", of: parseUnary() };
    }
    if (t.t === "op" && t.v === "(") {
      pos++;
      const e = parseOr();
      expectOp(")");
      return e;
    }
    if (t.t === "name") {
      pos++;
      if (t.status === undefined) return { kind: "on", step: t.v, status: "ok" };
      const status = STATUS[t.status.toLowerCase()];
      if (!status) {
        throw new Error(`unknown status "${t.status}" in "${t.v}.${t.status}" (one of ${DEPENDS_STATUS_NAMES.join(", ")})`);
      }
      return { kind: "on", step: t.v, status };
    }
    throw new Error(`expected a step name before "${t.v}"`);
  };
  if (toks.length === 0) throw new Error("empty dependency expression");
  const e = parseOr();
  if (pos < toks.length) {
    const t = toks[pos]!;
    throw new Error(`unexpected "${t.v}"`);
  }
  return e;
}
