/**
 * The part of expr-lang (github.com/expr-lang/expr) that Argo's `{{=…}}` tags and
 * `valueFrom.expression` use here, with Argo's function map (util/expr/env/env.go GetFuncMap:
 * `asFloat` = expr's `float`, `asInt` = `int`, `toJson` = Go json.Marshal) and expr's builtins
 * (`fromJSON`, `join`, `map`, `trimPrefix`, `string`, `len`), and `sprig.fromJson` of its `sprig` map. Anything outside the subset is an
 * error, so an emitted expression the replay cannot read fails loudly.
 *
 * Grammar (expr-lang parser/parser.go operator table, lowest first): ternary `?:`, `??`,
 * `||`/`or`, `&&`/`and`, comparison (`== != < > <= >= matches in contains startsWith
 * endsWith`), `+ -`, `* / %`, unary `! not -`, postfix (`.name`, `?.name`, `[expr]`, calls).
 */

export class ExprError extends Error {
  override name = "ExprError";
}

type Tok = { k: "num"; v: number } | { k: "str"; v: string } | { k: "id"; v: string } | { k: "op"; v: string };

const OPS = ["??", "?.", "==", "!=", "<=", ">=", "&&", "||", "(", ")", "[", "]", "{", "}", ".", ",", ":", "?", "+", "-", "*", "/", "%", "<", ">", "!", "#"];

function lex(src: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === "'" || c === '"') {
      let s = "";
      i++;
      while (i < src.length && src[i] !== c) {
        if (src[i] === "\\") {
          const e = src[i + 1];
          const map: Record<string, string> = { n: "\n", r: "\r", t: "\t", "\\": "\\", "'": "'", '"': '"', "/": "/", b: "\b", f: "\f" };
          if (e === "u") {
            s += String.fromCharCode(parseInt(src.slice(i + 2, i + 6), 16));
            i += 6;
            continue;
          }
          if (e === undefined || !(e in map)) throw new ExprError(`unknown escape \\${e} in ${src}`);
          s += map[e];
          i += 2;
        } else s += src[i++];
      }
      if (src[i] !== c) throw new ExprError(`unclosed string in ${src}`);
      i++;
      out.push({ k: "str", v: s });
      continue;
    }
    const num = /^\d+(\.\d+)?([eE][-+]?\d+)?/.exec(src.slice(i));
    if (num) {
      out.push({ k: "num", v: Number(num[0]) });
      i += num[0].length;
      continue;
    }
    const id = /^[A-Za-z_$][A-Za-z0-9_$]*/.exec(src.slice(i));
    if (id) {
      out.push({ k: "id", v: id[0] });
      i += id[0].length;
      continue;
    }
    const op = OPS.find((o) => src.startsWith(o, i));
    if (!op) throw new ExprError(`unexpected ${JSON.stringify(c)} in ${src}`);
    out.push({ k: "op", v: op });
    i += op.length;
  }
  return out;
}

type Node =
  | { t: "lit"; v: unknown }
  | { t: "id"; name: string }
  | { t: "pointer" }
  | { t: "member"; obj: Node; prop: Node; optional: boolean }
  | { t: "call"; fn: string; args: Node[] }
  | { t: "closure"; body: Node }
  | { t: "unary"; op: string; x: Node }
  | { t: "bin"; op: string; l: Node; r: Node }
  | { t: "cond"; c: Node; a: Node; b: Node };

const LEVELS: string[][] = [["??"], ["||", "or"], ["&&", "and"], ["==", "!=", "<", ">", "<=", ">=", "matches", "in", "contains", "startsWith", "endsWith"], ["+", "-"], ["*", "/", "%"]];

function parse(src: string): Node {
  const toks = lex(src);
  let p = 0;
  const peek = () => toks[p];
  const isOp = (v: string) => {
    const t = toks[p];
    return t !== undefined && (t.k === "op" || t.k === "id") && t.v === v;
  };
  const expect = (v: string) => {
    if (!isOp(v)) throw new ExprError(`expected ${v} in ${src}`);
    p++;
  };
  const ternary = (): Node => {
    const c = binary(0);
    if (isOp("?")) {
      p++;
      const a = ternary();
      expect(":");
      const b = ternary();
      return { t: "cond", c, a, b };
    }
    return c;
  };
  const binary = (level: number): Node => {
    if (level >= LEVELS.length) return unary();
    let l = binary(level + 1);
    for (;;) {
      const op = LEVELS[level]!.find((o) => isOp(o));
      if (!op) return l;
      p++;
      l = { t: "bin", op, l, r: binary(level + 1) };
    }
  };
  const unary = (): Node => {
    if (isOp("!") || isOp("not") || isOp("-")) {
      const op = String(toks[p++]!.v);
      return { t: "unary", op: op === "not" ? "!" : op, x: unary() };
    }
    return postfix(primary());
  };
  const primary = (): Node => {
    let t = toks[p++];
    if (!t) throw new ExprError(`unexpected end of ${src}`);
    if (t.k === "num" || t.k === "str") return { t: "lit", v: t.v };
    if (t.k === "op" && t.v === "(") {
      const n = ternary();
      expect(")");
      return n;
    }
    if (t.k === "op" && t.v === "#") return { t: "pointer" };
    if (t.k === "op" && t.v === "{") {
      const body = ternary();
      expect("}");
      return { t: "closure", body };
    }
    if (t.k === "id") {
      if (t.v === "true" || t.v === "false") return { t: "lit", v: t.v === "true" };
      if (t.v === "nil") return { t: "lit", v: null };
      // `sprig.NAME(…)`: Argo's `sprig` map of Sprig functions (util/expr/env/env.go GetFuncMap).
      if (t.v === "sprig" && isOp(".") && toks[p + 1]?.k === "id" && toks[p + 2]?.k === "op" && toks[p + 2]?.v === "(") {
        t = { k: "id", v: `sprig.${toks[p + 1]!.v}` };
        p += 2;
      }
      if (isOp("(")) {
        p++;
        const args: Node[] = [];
        while (!isOp(")")) {
          args.push(ternary());
          if (isOp(",")) p++;
          else break;
        }
        expect(")");
        return { t: "call", fn: t.v, args };
      }
      return { t: "id", name: t.v };
    }
    throw new ExprError(`unexpected ${t.v} in ${src}`);
  };
  const postfix = (n: Node): Node => {
    for (;;) {
      if (isOp(".") || isOp("?.")) {
        const optional = toks[p++]!.v === "?.";
        if (isOp("[")) {
          p++;
          const prop = ternary();
          expect("]");
          n = { t: "member", obj: n, prop, optional };
          continue;
        }
        const id = toks[p++];
        if (!id || id.k !== "id") throw new ExprError(`expected a name after . in ${src}`);
        n = { t: "member", obj: n, prop: { t: "lit", v: id.v }, optional };
      } else if (isOp("[")) {
        p++;
        const prop = ternary();
        expect("]");
        n = { t: "member", obj: n, prop, optional: false };
      } else return n;
    }
  };
  const n = ternary();
  if (p !== toks.length) throw new ExprError(`unexpected ${peek()?.v} in ${src}`);
  return n;
}

/** Go's json.Marshal: map keys sorted, `<`, `>`, `&`, U+2028 and U+2029 escaped (encoding/json encode.go). */
export function goJson(v: unknown): string {
  if (v === null || v === undefined) return "null";
  if (typeof v === "string") {
    let s = '"';
    for (const ch of v) {
      const c = ch.codePointAt(0)!;
      if (ch === '"') s += '\\"';
      else if (ch === "\\") s += "\\\\";
      else if (ch === "\n") s += "\\n";
      else if (ch === "\r") s += "\\r";
      else if (ch === "\t") s += "\\t";
      else if (c < 0x20 || ch === "<" || ch === ">" || ch === "&" || c === 0x2028 || c === 0x2029) s += `\\u${c.toString(16).padStart(4, "0")}`;
      else s += ch;
    }
    return `${s}"`;
  }
  if (typeof v === "number" || typeof v === "boolean") return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(goJson).join(",")}]`;
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o)
    .sort()
    .map((k) => `${goJson(k)}:${goJson(o[k])}`)
    .join(",")}}`;
}

function float(x: unknown): number {
  if (typeof x === "number") return x;
  if (typeof x === "string" && /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$|^[-+]?(inf|infinity|nan)$/i.test(x)) return Number(x);
  throw new ExprError(`invalid operation: float(${JSON.stringify(x)})`);
}

const FUNCS: Record<string, (...a: unknown[]) => unknown> = {
  asFloat: float,
  float,
  asInt: (x) => (typeof x === "number" ? Math.trunc(x) : /^[-+]?\d+$/.test(String(x)) ? Number(x) : fail(`int(${JSON.stringify(x)})`)),
  toJson: goJson,
  string: (x) => (typeof x === "string" ? x : goJson(x)),
  fromJSON: (x) => {
    try {
      return JSON.parse(String(x));
    } catch (e) {
      throw new ExprError(`fromJSON: ${(e as Error).message}`);
    }
  },
  // Sprig's fromJson (Masterminds/sprig functions.go / defaults.go fromJson): json.Unmarshal with
  // the error dropped, so text that is not JSON gives nil instead of failing the expression.
  "sprig.fromJson": (x) => {
    try {
      return JSON.parse(String(x));
    } catch {
      return null;
    }
  },
  join: (list, sep) => (Array.isArray(list) ? list.map((x) => (typeof x === "string" ? x : fail("join of non-strings"))).join(sep === undefined ? "" : String(sep)) : fail("join of a non-list")),
  trimPrefix: (s, pre) => (typeof s === "string" && typeof pre === "string" ? (s.startsWith(pre) ? s.slice(pre.length) : s) : fail("trimPrefix of a non-string")),
  len: (x) => (typeof x === "string" ? [...x].length : Array.isArray(x) ? x.length : x && typeof x === "object" ? Object.keys(x).length : fail("len")),
};

function fail(m: string): never {
  throw new ExprError(m);
}

function compare(op: string, l: unknown, r: unknown): boolean {
  if (!((typeof l === "number" && typeof r === "number") || (typeof l === "string" && typeof r === "string"))) {
    throw new ExprError(`invalid operation: ${JSON.stringify(l)} ${op} ${JSON.stringify(r)}`);
  }
  return op === "<" ? l < r : op === ">" ? l > r : op === "<=" ? l <= r : l >= r;
}

function evalNode(n: Node, env: Record<string, unknown>, ptr?: unknown): unknown {
  switch (n.t) {
    case "lit":
      return n.v;
    case "pointer":
      return ptr;
    case "id":
      if (!Object.hasOwn(env, n.name)) throw new ExprError(`unknown name ${n.name}`);
      return env[n.name];
    case "member": {
      const o = evalNode(n.obj, env, ptr);
      if (o === null || o === undefined) {
        if (n.optional) return null;
        throw new ExprError(`cannot fetch ${JSON.stringify(evalNode(n.prop, env, ptr))} from nil`);
      }
      const k = evalNode(n.prop, env, ptr);
      if (Array.isArray(o) && typeof k === "number") return o[k < 0 ? o.length + k : k];
      if (typeof o === "object" && typeof k === "string") return Object.hasOwn(o, k) ? (o as Record<string, unknown>)[k] : null;
      throw new ExprError(`cannot fetch ${JSON.stringify(k)} from ${goJson(o)}`);
    }
    case "call": {
      if (n.fn === "map") {
        const list = evalNode(n.args[0]!, env, ptr);
        const f = n.args[1];
        if (!Array.isArray(list) || !f) throw new ExprError("map needs a list and a closure");
        return list.map((x) => evalNode(f.t === "closure" ? f.body : f, env, x));
      }
      const fn = FUNCS[n.fn];
      if (!fn) throw new ExprError(`unknown function ${n.fn}`);
      return fn(...n.args.map((a) => evalNode(a, env, ptr)));
    }
    case "closure":
      return evalNode(n.body, env, ptr);
    case "unary": {
      const x = evalNode(n.x, env, ptr);
      if (n.op === "!") return typeof x === "boolean" ? !x : fail(`invalid operation: !${goJson(x)}`);
      return typeof x === "number" ? -x : fail(`invalid operation: -${goJson(x)}`);
    }
    case "cond": {
      const c = evalNode(n.c, env, ptr);
      if (typeof c !== "boolean") throw new ExprError("a non-boolean condition");
      return c ? evalNode(n.a, env, ptr) : evalNode(n.b, env, ptr);
    }
    case "bin": {
      if (n.op === "&&" || n.op === "and" || n.op === "||" || n.op === "or") {
        const l = evalNode(n.l, env, ptr);
        if (typeof l !== "boolean") throw new ExprError(`invalid operation: ${n.op} on ${goJson(l)}`);
        if ((n.op === "&&" || n.op === "and") !== l) return l;
        const r = evalNode(n.r, env, ptr);
        if (typeof r !== "boolean") throw new ExprError(`invalid operation: ${n.op} on ${goJson(r)}`);
        return r;
      }
      if (n.op === "??") {
        const l = evalNode(n.l, env, ptr);
        return l === null || l === undefined ? evalNode(n.r, env, ptr) : l;
      }
      const l = evalNode(n.l, env, ptr);
      const r = evalNode(n.r, env, ptr);
      switch (n.op) {
        case "==":
          return goJson(l) === goJson(r) && typeof l === typeof r;
        case "!=":
          return !(goJson(l) === goJson(r) && typeof l === typeof r);
        case "<":
        case ">":
        case "<=":
        case ">=":
          return compare(n.op, l, r);
        case "+":
          if (typeof l === "string" && typeof r === "string") return l + r;
          if (typeof l === "number" && typeof r === "number") return l + r;
          throw new ExprError(`invalid operation: ${goJson(l)} + ${goJson(r)}`);
        case "-":
        case "*":
        case "/":
        case "%":
          if (typeof l !== "number" || typeof r !== "number") throw new ExprError(`invalid operation ${n.op}`);
          return n.op === "-" ? l - r : n.op === "*" ? l * r : n.op === "/" ? l / r : l % r;
        case "matches":
          if (typeof l !== "string" || typeof r !== "string") throw new ExprError("matches needs strings");
          return new RegExp(r, "u").test(l);
        case "contains":
          return typeof l === "string" && typeof r === "string" ? l.includes(r) : fail("contains needs strings");
        case "startsWith":
          return typeof l === "string" && typeof r === "string" ? l.startsWith(r) : fail("startsWith needs strings");
        case "endsWith":
          return typeof l === "string" && typeof r === "string" ? l.endsWith(r) : fail("endsWith needs strings");
        case "in":
          return Array.isArray(r) ? r.some((x) => goJson(x) === goJson(l)) : r && typeof r === "object" ? Object.hasOwn(r, String(l)) : fail("in needs a list or map");
      }
      throw new ExprError(`unknown operator ${n.op}`);
    }
  }
}

/** Evaluate expr-lang source over `env` (nested maps, see template.ts exprEnv). */
export function evalExpr(src: string, env: Record<string, unknown>): unknown {
  return evalNode(parse(src), env);
}
