/**
 * Python source literals for user values. Every string the Airflow backend writes into a
 * DAG file goes through `pyStr`, so no user text can end a string early, start a comment
 * or smuggle control characters (NUL, bidi overrides, line separators) into the source.
 */

/** Characters written as escapes even though Python would accept them raw: invisible, confusable or not encodable in UTF-8. */
const ESCAPE_RE = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]/u;

/**
 * A double-quoted Python 3 string literal that `ast.literal_eval` turns back into `s` exactly.
 *
 * @example pyStr('say "hi"\n') // => "\"say \\\"hi\\\"\\n\""  (i.e. "say \"hi\"\n")
 */
export function pyStr(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (ch === "\\") out += "\\\\";
    else if (ch === '"') out += '\\"';
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (ch === " ") out += " ";
    else if (cp < 0x100 && ESCAPE_RE.test(ch)) out += `\\x${cp.toString(16).padStart(2, "0")}`;
    else if (ESCAPE_RE.test(ch)) out += cp <= 0xffff ? `\\u${cp.toString(16).padStart(4, "0")}` : `\\U${cp.toString(16).padStart(8, "0")}`;
    else out += ch;
  }
  return `${out}"`;
}

/** A JSON value as a Python literal (`null` → `None`, `true` → `True`). */
export type PyJson = string | number | boolean | null | readonly PyJson[] | { readonly [k: string]: PyJson };

/**
 * A JSON value as a Python expression that evaluates to the same value.
 *
 * @example pyLiteral({ a: [1, true, null] }) // => '{"a": [1, True, None]}'
 */
export function pyLiteral(v: PyJson): string {
  if (v === null) return "None";
  if (typeof v === "boolean") return v ? "True" : "False";
  if (typeof v === "number") {
    if (!Number.isFinite(v)) throw new Error(`internal: ${v} has no Python literal`);
    return Object.is(v, -0) ? "0" : String(v);
  }
  if (typeof v === "string") return pyStr(v);
  if (Array.isArray(v)) return `[${v.map(pyLiteral).join(", ")}]`;
  const o = v as { readonly [k: string]: PyJson };
  return `{${Object.keys(o)
    .map((k) => `${pyStr(k)}: ${pyLiteral(o[k]!)}`)
    .join(", ")}}`;
}

export const PY_KEYWORDS = new Set([
  "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue", "def", "del",
  "elif", "else", "except", "finally", "for", "from", "global", "if", "import", "in", "is", "lambda", "nonlocal",
  "not", "or", "pass", "raise", "return", "try", "while", "with", "yield",
]);

/** Soft keywords: valid names, but confusing as variables, so task variables avoid them too. */
export const PY_SOFT_KEYWORDS = new Set(["match", "case", "type", "_"]);

/** Builtins a task variable must not shadow (a shadowed `list` or `print` breaks the file in confusing ways). */
export const PY_BUILTINS = new Set([
  "abs", "all", "any", "ascii", "bin", "bool", "breakpoint", "bytearray", "bytes", "callable", "chr", "classmethod",
  "compile", "complex", "copyright", "credits", "delattr", "dict", "dir", "divmod", "enumerate", "eval", "exec", "exit",
  "filter", "float", "format", "frozenset", "getattr", "globals", "hasattr", "hash", "help", "hex", "id", "input", "int",
  "isinstance", "issubclass", "iter", "len", "license", "list", "locals", "map", "max", "memoryview", "min", "next",
  "object", "oct", "open", "ord", "pow", "print", "property", "quit", "range", "repr", "reversed", "round", "set",
  "setattr", "slice", "sorted", "staticmethod", "str", "sum", "super", "tuple", "vars", "zip", "__import__",
]);

/** True for a plain ASCII identifier that is no keyword. */
export function isPyIdent(s: string): boolean {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(s) && !PY_KEYWORDS.has(s);
}
