/**
 * Argo's text forms, read: field text with `{{path}}` / `{{=expr}}` substitutions, `when`
 * expressions, and `depends` text. Each reader returns a structure or a reason it cannot.
 *
 * ```ts
 * textParts("--day={{workflow.parameters.day}}") // [{ lit: "--day=" }, { path: "workflow.parameters.day" }]
 * parseWhen("'{{steps.flip.outputs.result}}' == 'heads'") // { kind: "compare", op: "eq", ... }
 * ```
 */

export type TextPart = { readonly lit: string } | { readonly path: string };

/**
 * Split a field into literal text and substituted paths. `{{=…}}` is read only in the form
 * the Argo backend writes for literal braces: string literals and paths joined by `+`.
 */
export function textParts(text: string): TextPart[] | { error: string } {
  const out: TextPart[] = [];
  let i = 0;
  let lit = "";
  const flush = () => {
    if (lit) out.push({ lit });
    lit = "";
  };
  while (i < text.length) {
    const at = text.indexOf("{{", i);
    if (at < 0) {
      lit += text.slice(i);
      break;
    }
    lit += text.slice(i, at);
    if (text[at + 2] === "=") {
      flush();
      const r = parseExpr(text, at + 3);
      if ("error" in r) return r;
      for (const p of r.parts) {
        if ("lit" in p) lit += p.lit;
        else {
          flush();
          out.push(p);
        }
      }
      i = r.end;
    } else {
      const end = text.indexOf("}}", at + 2);
      if (end < 0) return { error: `unclosed "{{" in ${JSON.stringify(text)}` };
      flush();
      out.push({ path: text.slice(at + 2, end).trim() });
      i = end + 2;
    }
  }
  flush();
  return out;
}

/** The Argo backend's fan-in term around an aggregated output path. */
export const FAN_IN = /^\('\[' \+ join\(map\(fromJSON\(([A-Za-z_][A-Za-z0-9_.\-'\[\]]*)\), \{trimPrefix\(#, 'j'\)\}\), ','\) \+ '\]'\)/;

function parseExpr(text: string, pos: number): { parts: TextPart[]; end: number } | { error: string } {
  const parts: TextPart[] = [];
  let i = pos;
  const ws = () => {
    while (text[i] === " ") i++;
  };
  const bad = () => ({ error: `the expression ${JSON.stringify(text.slice(pos - 3, text.indexOf("}}", pos) + 2 || undefined))} has no DSL form` });
  for (;;) {
    ws();
    if (text[i] === "'" || text[i] === '"') {
      const q = text[i++];
      let s = "";
      while (i < text.length && text[i] !== q) {
        if (text[i] === "\\") {
          const c = text[i + 1];
          const map: Record<string, string> = { n: "\n", r: "\r", t: "\t", "\\": "\\", "'": "'", '"': '"' };
          if (c === undefined || !(c in map)) return bad();
          s += map[c];
          i += 2;
        } else s += text[i++];
      }
      if (text[i] !== q) return bad();
      i++;
      parts.push({ lit: s });
    } else if (FAN_IN.test(text.slice(i))) {
      // the backend's fan-in list (backends/argo/fan-in.ts fanInTerm): the aggregated values
      const m = FAN_IN.exec(text.slice(i))!;
      parts.push({ path: m[1]!.replace(/\[['"]([^'"]*)['"]\]/g, ".$1") });
      i += m[0].length;
    } else {
      const m = /^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*|\['[^'\\]*'\]|\["[^"\\]*"\])*/.exec(text.slice(i));
      if (!m) return bad();
      parts.push({ path: m[0].replace(/\[['"]([^'"]*)['"]\]/g, ".$1") });
      i += m[0].length;
    }
    ws();
    if (text.startsWith("}}", i)) return { parts, end: i + 2 };
    if (text[i] !== "+") return bad();
    i++;
  }
}

/** Kubernetes expands `$(VAR)` and `$$` in a container's command, args and env: undo `$$`, refuse `$(`. */
export function unKube(s: string): { text: string; kubeRef?: string } {
  let out = "";
  let kubeRef: string | undefined;
  for (let i = 0; i < s.length; i++) {
    if (s[i] === "$" && s[i + 1] === "$") {
      out += "$";
      i++;
    } else {
      if (s[i] === "$" && s[i + 1] === "(" && kubeRef === undefined) kubeRef = /^\$\([^)]*\)?/.exec(s.slice(i))![0];
      out += s[i];
    }
  }
  return kubeRef === undefined ? { text: out } : { text: out, kubeRef };
}

// ------------------------------------------------------------------ when expressions

export type Operand = { readonly kind: "text"; readonly parts: TextPart[] };
export type WhenExpr =
  | { readonly kind: "compare"; readonly op: "eq" | "ne" | "gt" | "lt" | "ge" | "le"; readonly left: Operand; readonly right: Operand }
  | { readonly kind: "and" | "or"; readonly of: readonly WhenExpr[] }
  | { readonly kind: "not"; readonly of: WhenExpr };

const OPS: Record<string, "eq" | "ne" | "gt" | "lt" | "ge" | "le"> = { "==": "eq", "!=": "ne", ">": "gt", "<": "lt", ">=": "ge", "<=": "le" };

/**
 * Parse an Argo `when` expression made of comparisons, `&&`, `||`, `!` and parentheses: the
 * classic govaluate form, or one `{{=…}}` expr-lang tag in the shape the Argo backend writes
 * (backends/argo/conditions.ts: string literals, paths, `asFloat(…)` around numeric sides,
 * `(a + b)` concatenations).
 */
export function parseWhen(text: string): WhenExpr | { error: string } {
  const t = text.trim();
  if (t.startsWith("{{=") && t.endsWith("}}") && t.indexOf("}}") === t.length - 2) return parseExprWhen(t.slice(3, -2), text);
  return parseClassicWhen(text);
}

type XNode =
  | { readonly k: "lit"; readonly v: string }
  | { readonly k: "path"; readonly v: string }
  | { readonly k: "concat"; readonly of: readonly XNode[] }
  | { readonly k: "float"; readonly of: XNode }
  | { readonly k: "cmp"; readonly op: string; readonly l: XNode; readonly r: XNode }
  | { readonly k: "and" | "or"; readonly of: readonly XNode[] }
  | { readonly k: "not"; readonly of: XNode };

const STR_ESC: Record<string, string> = { n: "\n", r: "\r", t: "\t", "\\": "\\", "'": "'", '"': '"' };

/** The expr-lang subset the Argo backend writes for conditions; anything else is an error. */
function parseExprWhen(src: string, text: string): WhenExpr | { error: string } {
  const fail = (why: string) => ({ error: `the expression ${JSON.stringify(text)} has no DSL form: ${why}` });
  type Tok = { t: "op" | "str" | "path" | "fn"; v: string };
  const toks: Tok[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const two = src.slice(i, i + 2);
    if (["==", "!=", ">=", "<=", "&&", "||"].includes(two)) {
      toks.push({ t: "op", v: two });
      i += 2;
      continue;
    }
    if ("<>!()+".includes(c)) {
      toks.push({ t: "op", v: c });
      i++;
      continue;
    }
    if (c === "'" || c === '"') {
      let s = "";
      i++;
      while (i < src.length && src[i] !== c) {
        if (src[i] === "\\") {
          const e = src[i + 1];
          if (e === undefined || !(e in STR_ESC)) return fail("an escape it does not write");
          s += STR_ESC[e];
          i += 2;
        } else s += src[i++];
      }
      if (src[i] !== c) return fail("an unclosed quote");
      i++;
      toks.push({ t: "str", v: s });
      continue;
    }
    const m = /^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*|\['[^'\\]*'\]|\["[^"\\]*"\])*/.exec(src.slice(i));
    if (!m) return fail(`unexpected ${JSON.stringify(c)}`);
    i += m[0].length;
    let j = i;
    while (src[j] === " ") j++;
    if (src[j] === "(") {
      if (m[0] !== "asFloat") return fail(`the function ${m[0]}`);
      toks.push({ t: "fn", v: m[0] });
      continue;
    }
    if (/^(true|false|nil|in|matches|contains|startsWith|endsWith|not|and|or)$/.test(m[0])) return fail(`"${m[0]}"`);
    toks.push({ t: "path", v: m[0].replace(/\[['"]([^'"]*)['"]\]/g, ".$1") });
  }
  let pos = 0;
  const peek = () => toks[pos];
  const isOp = (v: string) => peek()?.t === "op" && peek()!.v === v;
  type R = XNode | { error: string };
  const primary = (): R => {
    const t = toks[pos++];
    if (!t) return fail("it ends early");
    if (t.t === "str") return { k: "lit", v: t.v };
    if (t.t === "path") return { k: "path", v: t.v };
    if (t.t === "fn") {
      if (!isOp("(")) return fail("a call without arguments");
      pos++;
      const a = or();
      if ("error" in a) return a;
      if (!isOp(")")) return fail("unbalanced parentheses");
      pos++;
      return { k: "float", of: a };
    }
    if (t.v === "(") {
      const a = or();
      if ("error" in a) return a;
      if (!isOp(")")) return fail("unbalanced parentheses");
      pos++;
      return a;
    }
    if (t.v === "!") {
      const a = primary();
      return "error" in a ? a : { k: "not", of: a };
    }
    return fail(`unexpected "${t.v}"`);
  };
  const add = (): R => {
    const of: XNode[] = [];
    for (;;) {
      const a = primary();
      if ("error" in a) return a;
      of.push(a);
      if (!isOp("+")) break;
      pos++;
    }
    return of.length === 1 ? of[0]! : { k: "concat", of };
  };
  const cmp = (): R => {
    const l = add();
    if ("error" in l) return l;
    const t = peek();
    if (t?.t === "op" && t.v in OPS) {
      pos++;
      const r = add();
      if ("error" in r) return r;
      return { k: "cmp", op: t.v, l, r };
    }
    return l;
  };
  const chain = (k: "and" | "or", op: string, next: () => R) => (): R => {
    const of: XNode[] = [];
    for (;;) {
      const a = next();
      if ("error" in a) return a;
      of.push(a);
      if (!isOp(op)) break;
      pos++;
    }
    return of.length === 1 ? of[0]! : { k, of };
  };
  const and = chain("and", "&&", cmp);
  const or: () => R = chain("or", "||", and);
  const root = or();
  if ("error" in root) return root;
  if (pos < toks.length) return fail(`unexpected "${toks[pos]!.v}"`);
  const numeric = new Set(["gt", "lt", "ge", "le"]);
  const operand = (n: XNode, num: boolean): Operand | { error: string } => {
    if (num) {
      if (n.k !== "float") return fail("a number comparison without asFloat");
      n = n.of;
    }
    const parts: TextPart[] = [];
    const add1 = (x: XNode): string | undefined => {
      if (x.k === "lit") {
        const last = parts[parts.length - 1];
        if (last && "lit" in last) parts[parts.length - 1] = { lit: last.lit + x.v };
        else if (x.v !== "") parts.push({ lit: x.v });
      } else if (x.k === "path") parts.push({ path: x.v });
      else if (x.k === "concat") {
        for (const y of x.of) {
          const e = add1(y);
          if (e) return e;
        }
      } else return "a value it does not write";
      return undefined;
    };
    const e = add1(n);
    if (e) return fail(e);
    return { kind: "text", parts };
  };
  const conv = (n: XNode): WhenExpr | { error: string } => {
    switch (n.k) {
      case "cmp": {
        const op = OPS[n.op]!;
        const l = operand(n.l, numeric.has(op));
        if ("error" in l) return l;
        const r = operand(n.r, numeric.has(op));
        if ("error" in r) return r;
        return { kind: "compare", op, left: l, right: r };
      }
      case "and":
      case "or": {
        const of: WhenExpr[] = [];
        for (const x of n.of) {
          const c = conv(x);
          if ("error" in c) return c;
          of.push(c);
        }
        return { kind: n.k, of };
      }
      case "not": {
        const c = conv(n.of);
        return "error" in c ? c : { kind: "not", of: c };
      }
      default:
        return fail("a value that is not compared with anything");
    }
  };
  return conv(root);
}

function parseClassicWhen(text: string): WhenExpr | { error: string } {
  type Tok = { t: "op"; v: string } | { t: "val"; v: string };
  const toks: Tok[] = [];
  let i = 0;
  const fail = (why: string) => ({ error: `the condition ${JSON.stringify(text)} has no predicate form: ${why}` });
  while (i < text.length) {
    const c = text[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const two = text.slice(i, i + 2);
    if (["==", "!=", ">=", "<=", "&&", "||"].includes(two)) {
      toks.push({ t: "op", v: two });
      i += 2;
      continue;
    }
    if (c === "=" || c === "~") return fail(`operator "${text.slice(i, i + 2)}"`);
    if ("<>!()".includes(c)) {
      toks.push({ t: "op", v: c });
      i++;
      continue;
    }
    if (c === "'" || c === '"') {
      const end = text.indexOf(c, i + 1);
      if (end < 0) return fail("an unclosed quote");
      toks.push({ t: "val", v: text.slice(i + 1, end) });
      i = end + 1;
      continue;
    }
    // a bare operand: a word, a number or a {{…}} reference, up to whitespace or an operator
    let j = i;
    let v = "";
    while (j < text.length) {
      if (text.startsWith("{{", j)) {
        const end = text.indexOf("}}", j);
        if (end < 0) return fail('an unclosed "{{"');
        v += text.slice(j, end + 2);
        j = end + 2;
        continue;
      }
      if (/[\s=!<>&|()'"~]/.test(text[j]!)) break;
      v += text[j++];
    }
    if (v === "") return fail(`unexpected ${JSON.stringify(c)}`);
    if (/^(in|matches|contains|startsWith|endsWith)$/.test(v)) return fail(`operator "${v}"`);
    toks.push({ t: "val", v });
    i = j;
  }
  let pos = 0;
  const operand = (): Operand | { error: string } => {
    const t = toks[pos++];
    if (!t || t.t !== "val") return fail("a comparison needs a value on each side");
    const parts = textParts(t.v);
    if ("error" in parts) return parts;
    return { kind: "text", parts };
  };
  const unary = (): WhenExpr | { error: string } => {
    const t = toks[pos];
    if (t?.t === "op" && t.v === "!") {
      pos++;
      const of = unary();
      return "error" in of ? of : { kind: "not", of };
    }
    if (t?.t === "op" && t.v === "(") {
      pos++;
      const e = or();
      if ("error" in e) return e;
      if (toks[pos]?.v !== ")") return fail("unbalanced parentheses");
      pos++;
      return e;
    }
    const left = operand();
    if ("error" in left) return left;
    const op = toks[pos];
    if (!op || op.t !== "op" || !(op.v in OPS)) return fail("a value that is not compared with anything");
    pos++;
    const right = operand();
    if ("error" in right) return right;
    return { kind: "compare", op: OPS[op.v]!, left, right };
  };
  const and = (): WhenExpr | { error: string } => {
    const of: WhenExpr[] = [];
    for (;;) {
      const e = unary();
      if ("error" in e) return e;
      of.push(e);
      if (toks[pos]?.v !== "&&") break;
      pos++;
    }
    return of.length === 1 ? of[0]! : { kind: "and", of };
  };
  const or = (): WhenExpr | { error: string } => {
    const of: WhenExpr[] = [];
    for (;;) {
      const e = and();
      if ("error" in e) return e;
      of.push(e);
      if (toks[pos]?.v !== "||") break;
      pos++;
    }
    return of.length === 1 ? of[0]! : { kind: "or", of };
  };
  const e = or();
  if ("error" in e) return e;
  if (pos < toks.length) return fail(`unexpected "${toks[pos]!.v}"`);
  return e;
}

// ------------------------------------------------------------------ depends

/**
 * Dependency text as the DSL takes it: the same words (Argo's bare name, Succeeded, Skipped
 * or Daemoned, is the DSL's bare name, src/run/evaluate.ts `ok`), whitespace tidied.
 */
export function dslDepends(text: string): string {
  return text.replace(/\s+/g, " ").trim();
}

/** Step names a depends text mentions. */
export function dependsNames(text: string): string[] {
  return [...new Set((text.match(/[A-Za-z0-9_-]+(?:\.[A-Za-z]+)?/g) ?? []).map((t) => t.split(".")[0]!))];
}
