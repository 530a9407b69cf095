/**
 * GitHub Actions expressions, as the runner reads them: `${{ … }}` spans inside a field (the
 * scanner skips quoted text when looking for `}}`), and the expression language inside
 * (literals, context properties, function calls, `!`, comparisons, `&&`, `||`). Written from
 * GitHub's documentation for the read-back and hostile-string tests.
 */

export type GhExpr =
  | { readonly kind: "lit"; readonly value: string | number | boolean | null }
  | { readonly kind: "prop"; readonly path: readonly string[] }
  | { readonly kind: "call"; readonly name: string; readonly args: readonly GhExpr[] }
  | { readonly kind: "not"; readonly of: GhExpr }
  | { readonly kind: "bin"; readonly op: string; readonly left: GhExpr; readonly right: GhExpr };

export type GhPart = { readonly lit: string } | { readonly expr: GhExpr; readonly text: string };

/** Split a field into literal text and `${{ … }}` expressions. */
export function ghParts(text: string): GhPart[] {
  const out: GhPart[] = [];
  let lit = "";
  let i = 0;
  while (i < text.length) {
    const at = text.indexOf("${{", i);
    if (at < 0) {
      lit += text.slice(i);
      break;
    }
    lit += text.slice(i, at);
    let j = at + 3;
    while (j < text.length && !text.startsWith("}}", j)) {
      if (text[j] === "'") {
        j++;
        while (j < text.length && !(text[j] === "'" && text[j + 1] !== "'")) j += text[j] === "'" ? 2 : 1;
      }
      j++;
    }
    if (j >= text.length) throw new Error(`unclosed \${{ in ${JSON.stringify(text)}`);
    if (lit) out.push({ lit });
    lit = "";
    const src = text.slice(at + 3, j);
    out.push({ expr: parseGh(src), text: src });
    i = j + 2;
  }
  if (lit) out.push({ lit });
  return out;
}

/** Parse the text inside `${{ … }}` (or a bare `if:`). */
export function parseGh(src: string): GhExpr {
  const toks: { t: string; v?: string | number }[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === "'") {
      let s = "";
      i++;
      for (;;) {
        if (i >= src.length) throw new Error(`unclosed string in ${src}`);
        if (src[i] === "'") {
          if (src[i + 1] === "'") {
            s += "'";
            i += 2;
            continue;
          }
          i++;
          break;
        }
        s += src[i++];
      }
      toks.push({ t: "str", v: s });
    } else if (/[0-9]/.test(c) || (c === "-" && /[0-9]/.test(src[i + 1] ?? ""))) {
      const m = /^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?/.exec(src.slice(i))!;
      toks.push({ t: "num", v: Number(m[0]) });
      i += m[0].length;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_-]*/.exec(src.slice(i))!;
      toks.push({ t: "id", v: m[0] });
      i += m[0].length;
    } else {
      const two = src.slice(i, i + 2);
      if (["&&", "||", "==", "!=", "<=", ">="].includes(two)) {
        toks.push({ t: two });
        i += 2;
      } else if ("!<>().,[]*".includes(c)) {
        toks.push({ t: c });
        i++;
      } else throw new Error(`unexpected ${JSON.stringify(c)} in expression ${JSON.stringify(src)}`);
    }
  }
  let k = 0;
  const peek = () => toks[k]?.t;
  const expect = (t: string) => {
    if (toks[k]?.t !== t) throw new Error(`expected ${t} at token ${k} in ${JSON.stringify(src)}`);
    k++;
  };
  const or = (): GhExpr => {
    let l = and();
    while (peek() === "||") {
      k++;
      l = { kind: "bin", op: "||", left: l, right: and() };
    }
    return l;
  };
  const and = (): GhExpr => {
    let l = cmp();
    while (peek() === "&&") {
      k++;
      l = { kind: "bin", op: "&&", left: l, right: cmp() };
    }
    return l;
  };
  const cmp = (): GhExpr => {
    let l = unary();
    while (["==", "!=", "<", ">", "<=", ">="].includes(peek() ?? "")) {
      const op = toks[k++]!.t;
      l = { kind: "bin", op, left: l, right: unary() };
    }
    return l;
  };
  const unary = (): GhExpr => {
    if (peek() === "!") {
      k++;
      return { kind: "not", of: unary() };
    }
    return postfix(primary());
  };
  const primary = (): GhExpr => {
    const tok = toks[k++];
    if (!tok) throw new Error(`truncated expression ${JSON.stringify(src)}`);
    if (tok.t === "str" || tok.t === "num") return { kind: "lit", value: tok.v! };
    if (tok.t === "(") {
      const e = or();
      expect(")");
      return e;
    }
    if (tok.t === "id") {
      const id = tok.v as string;
      if (id === "true" || id === "false") return { kind: "lit", value: id === "true" };
      if (id === "null") return { kind: "lit", value: null };
      if (peek() === "(") {
        k++;
        const args: GhExpr[] = [];
        while (peek() !== ")") {
          args.push(or());
          if (peek() === ",") k++;
        }
        expect(")");
        return { kind: "call", name: id, args };
      }
      return { kind: "prop", path: [id] };
    }
    throw new Error(`unexpected token ${tok.t} in ${JSON.stringify(src)}`);
  };
  const postfix = (e: GhExpr): GhExpr => {
    for (;;) {
      if (peek() === "." && e.kind === "prop") {
        k++;
        const tok = toks[k++];
        if (tok?.t === "*") e = { kind: "prop", path: [...e.path, "*"] };
        else if (tok?.t === "id") e = { kind: "prop", path: [...e.path, tok.v as string] };
        else throw new Error(`bad property in ${JSON.stringify(src)}`);
      } else if (peek() === "[" && e.kind === "prop") {
        k++;
        const idx = or();
        expect("]");
        if (idx.kind !== "lit") throw new Error(`computed index in ${JSON.stringify(src)}`);
        e = { kind: "prop", path: [...e.path, String(idx.value)] };
      } else return e;
    }
  };
  const e = or();
  if (k !== toks.length) throw new Error(`trailing tokens in ${JSON.stringify(src)}`);
  return e;
}

/** Every context property an expression reads. */
export function ghProps(e: GhExpr, out: string[][] = []): string[][] {
  switch (e.kind) {
    case "prop":
      out.push([...e.path]);
      break;
    case "call":
      for (const a of e.args) ghProps(a, out);
      break;
    case "not":
      ghProps(e.of, out);
      break;
    case "bin":
      ghProps(e.left, out);
      ghProps(e.right, out);
      break;
  }
  return out;
}

export type GhValue = string | number | boolean | null | GhValue[] | { [k: string]: GhValue };

export interface GhContext {
  prop(path: readonly string[]): GhValue;
  /** Status functions: always(), success(), failure(), cancelled(). */
  status(name: string): boolean;
}

function truthy(v: GhValue): boolean {
  return v !== null && v !== false && v !== 0 && v !== "" && !(typeof v === "number" && Number.isNaN(v));
}

function loose(a: GhValue, b: GhValue): boolean {
  if (typeof a === "string" && typeof b === "string") return a.toLowerCase() === b.toLowerCase();
  if (typeof a === typeof b) return a === b;
  const num = (x: GhValue) => (x === null ? 0 : typeof x === "boolean" ? (x ? 1 : 0) : typeof x === "string" ? (x.trim() === "" ? 0 : Number(x)) : NaN);
  return num(a) === num(b);
}

/** Evaluate with GitHub's rules (loose equality, case-insensitive strings, `&&`/`||` return operands). */
export function evalGh(e: GhExpr, ctx: GhContext): GhValue {
  switch (e.kind) {
    case "lit":
      return e.value;
    case "prop":
      return ctx.prop(e.path);
    case "not":
      return !truthy(evalGh(e.of, ctx));
    case "call": {
      const name = e.name.toLowerCase();
      if (["always", "success", "failure", "cancelled"].includes(name)) return ctx.status(name);
      const args = e.args.map((a) => evalGh(a, ctx));
      if (name === "fromjson") return JSON.parse(String(args[0])) as GhValue;
      if (name === "tojson") return JSON.stringify(args[0]);
      if (name === "format") return String(args[0]).replace(/\{(\d+)\}/g, (_, i) => String(args[Number(i) + 1]));
      if (name === "contains") return String(args[0]).toLowerCase().includes(String(args[1]).toLowerCase());
      throw new Error(`function ${e.name} not modelled`);
    }
    case "bin": {
      if (e.op === "&&") {
        const l = evalGh(e.left, ctx);
        return truthy(l) ? evalGh(e.right, ctx) : l;
      }
      if (e.op === "||") {
        const l = evalGh(e.left, ctx);
        return truthy(l) ? l : evalGh(e.right, ctx);
      }
      const l = evalGh(e.left, ctx);
      const r = evalGh(e.right, ctx);
      if (e.op === "==") return loose(l, r);
      if (e.op === "!=") return !loose(l, r);
      const [a, b] = [Number(l), Number(r)];
      return e.op === "<" ? a < b : e.op === ">" ? a > b : e.op === "<=" ? a <= b : a >= b;
    }
  }
}

export { truthy as ghTruthy };
