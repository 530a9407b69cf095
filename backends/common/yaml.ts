/**
 * YAML that a YAML 1.1 reader (Kubernetes, so Argo and Tekton) and a YAML 1.2 reader see
 * identically: every string that either version would read as a bool, null, number or
 * timestamp when plain (`yes`, `on`, `~`, `0123`, `1_000`, `0o17`, `1e3`...) is quoted.
 *
 * Our documents are plain JSON data, so a small emitter of our own does the writing: it
 * is several times faster than building a `yaml` Document (what a 10,000-step workflow
 * needs), and every rule it uses is spelled out below. The implicit-type patterns are
 * the `yaml` package's, and the tests parse every output back with it, as YAML 1.1 and as 1.2.
 */
/**
 * The implicit-type patterns of YAML 1.1 and of the YAML 1.2 core schema: a plain scalar
 * matching one is not read as a string. Copied from the `yaml` package's schemas (so the
 * package need not load on every compile); a test checks they are still the same.
 */
export const IMPLICIT_TYPE_PATTERNS: readonly RegExp[] = [
  // YAML 1.1: null, bool, int (binary, octal, decimal, hex), float, sexagesimal, timestamp
  /^(?:~|[Nn]ull|NULL)?$/,
  /^(?:Y|y|[Yy]es|YES|[Tt]rue|TRUE|[Oo]n|ON)$/,
  /^(?:N|n|[Nn]o|NO|[Ff]alse|FALSE|[Oo]ff|OFF)$/,
  /^[-+]?0b[0-1_]+$/,
  /^[-+]?0[0-7_]+$/,
  /^[-+]?[0-9][0-9_]*$/,
  /^[-+]?0x[0-9a-fA-F_]+$/,
  /^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/,
  /^[-+]?(?:[0-9][0-9_]*)?(?:\.[0-9_]*)?[eE][-+]?[0-9]+$/,
  /^[-+]?(?:[0-9][0-9_]*)?\.[0-9_]*$/,
  /^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+$/,
  /^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*$/,
  /^([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})(?:(?:t|T|[ \t]+)([0-9]{1,2}):([0-9]{1,2}):([0-9]{1,2}(\.[0-9]+)?)(?:[ \t]*(Z|[-+][012]?[0-9](?::[0-9]{2})?))?)?$/,
  // YAML 1.2 core: null, bool, int (octal, decimal, hex), float
  /^(?:~|[Nn]ull|NULL)?$/,
  /^(?:[Tt]rue|TRUE|[Ff]alse|FALSE)$/,
  /^0o[0-7]+$/,
  /^[-+]?[0-9]+$/,
  /^0x[0-9a-fA-F]+$/,
  /^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/,
  /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$/,
  /^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)$/,
];

const TESTS = IMPLICIT_TYPE_PATTERNS;
/** First letters (lower-cased) of the null and bool words: n, y, t, f, o. */
const WORD_START = new Set([0x6e, 0x79, 0x74, 0x66, 0x6f]);

/** Would this string, written plain, mean something other than a string to some reader? */
export function needsQuotes(s: string): boolean {
  // Of the patterns above, only the null and bool words (`null`, `yes`, `on`, `False`... at
  // most 5 characters) and YAML 1.1 floats such as `e5` match a string that starts with a letter.
  const c = s.charCodeAt(0) | 0x20;
  if (c >= 0x61 && c <= 0x7a && c !== 0x65 && (s.length > 5 || !WORD_START.has(c))) return false;
  return TESTS.some((re) => re.test(s)) || s === "<<" || s === "=";
}

// Characters YAML does not allow raw (C0/C1 controls, DEL, line/paragraph separators,
// BOM, lone surrogates), besides tab and line feed which are handled separately.
const NON_PRINTABLE = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
/**
 * What keeps a non-empty string from being written plain, besides NON_PRINTABLE and the
 * implicit types: white space at either end; a tab or line break; an indicator first; `-`
 * alone, before a space or as `---`; `...` first; `: ` or ` #` inside, or `:` last.
 */
const NOT_PLAIN = /^(?:\s|[?:,[\]{}#&*!|>'"%@`]|-(?:$| |--)|\.\.\.)|\s$|[\n\r\t]|: | #|:$/;

/** Printable ASCII only, so nothing NON_PRINTABLE looks for (the common case, and a cheaper test). */
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

function canBePlain(s: string): boolean {
  return s !== "" && !NOT_PLAIN.test(s) && (PRINTABLE_ASCII.test(s) || !NON_PRINTABLE.test(s)) && !needsQuotes(s);
}

function doubleQuoted(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"') out += '\\"';
    else if (ch === "\\") out += "\\\\";
    else if (ch === "\n") out += "\\n";
    else if (ch === "\t") out += "\\t";
    else if (ch === "\r") out += "\\r";
    else if (NON_PRINTABLE.test(ch)) out += c <= 0xff ? `\\x${c.toString(16).padStart(2, "0")}` : `\\u${c.toString(16).padStart(4, "0")}`;
    else out += ch;
  }
  return `${out}"`;
}

/** A multi-line string as a literal block, when its lines can be written raw; else undefined. */
function literalBlock(s: string, indent: string): string | undefined {
  if (!s.includes("\n") || /\r/.test(s) || NON_PRINTABLE.test(s)) return undefined;
  const body = s.replace(/\n+$/, "");
  const trailing = s.length - body.length;
  const chomp = trailing === 0 ? "-" : trailing === 1 ? "" : "+";
  const lines = body.split("\n");
  const firstText = lines.find((l) => l.trim() !== "");
  if (firstText === undefined) return undefined;
  // Whitespace-only lines before the first text line would confuse indentation detection.
  for (const l of lines) {
    if (l === firstText) break;
    if (l !== "") return undefined;
  }
  const indicator = /^ /.test(firstText) ? "2" : "";
  const inner = `${indent}  `;
  const content = [...lines, ...Array.from({ length: Math.max(0, trailing - 1) }, () => "")]
    .map((l) => (l === "" ? "" : inner + l))
    .join("\n");
  return `|${indicator}${chomp}\n${content}`;
}

function scalar(v: unknown, indent: string): string {
  if (v === null || v === undefined) return "null";
  if (typeof v === "boolean") return v ? "true" : "false";
  if (typeof v === "number") {
    if (!Number.isFinite(v)) throw new Error(`cannot write ${v} as YAML`);
    const s = String(v);
    // YAML 1.1 floats need a dot: write 1e-7 in full.
    return /e/i.test(s) ? v.toFixed(20).replace(/0+$/, "").replace(/\.$/, ".0") : s;
  }
  const s = String(v);
  if (canBePlain(s)) return s;
  return literalBlock(s, indent) ?? doubleQuoted(s);
}

// Map keys come from a small set (`name`, `template`, `dependencies`...): decide each once.
const plainKeys = new Map<string, string>();

function key(k: string): string {
  let out = plainKeys.get(k);
  if (out === undefined) {
    out = canBePlain(k) ? k : doubleQuoted(k);
    if (plainKeys.size < 10000) plainKeys.set(k, out);
  }
  return out;
}

function isCollection(v: unknown): v is object {
  return typeof v === "object" && v !== null;
}

function hasKeys(o: object): boolean {
  for (const _ in o) if (Object.hasOwn(o, _)) return true;
  return false;
}

// Plain loops, no per-node closures: a 10,000-step workflow is some 100,000 lines.
function emitMap(obj: Record<string, unknown>, indent: string, out: string[], firstPrefix?: string): void {
  let first = firstPrefix !== undefined;
  for (const k of Object.keys(obj)) {
    const v = obj[k];
    if (v === undefined) continue;
    const lead = first ? firstPrefix! : indent;
    first = false;
    emitValue(lead + key(k) + ":", v, indent, out);
  }
}

function emitSeq(arr: readonly unknown[], indent: string, out: string[], firstPrefix?: string): void {
  const itemIndent = indent + "  ";
  for (let i = 0; i < arr.length; i++) {
    if (!(i in arr)) continue;
    const v = arr[i];
    const lead = i === 0 && firstPrefix !== undefined ? firstPrefix : indent;
    if (Array.isArray(v)) {
      if (v.length) emitSeq(v, itemIndent, out, lead + "- ");
      else out.push(lead + "- []");
    } else if (isCollection(v)) {
      if (hasKeys(v)) emitMap(v as Record<string, unknown>, itemIndent, out, lead + "- ");
      else out.push(lead + "- {}");
    } else out.push(lead + "- " + scalar(v, indent));
  }
}

/** `head` is `key:` (in a map); the value goes after it or on the following lines. */
function emitValue(head: string, v: unknown, indent: string, out: string[]): void {
  if (Array.isArray(v)) {
    if (v.length === 0) out.push(head + " []");
    else {
      out.push(head);
      emitSeq(v, indent + "  ", out);
    }
  } else if (isCollection(v)) {
    if (!hasKeys(v)) out.push(head + " {}");
    else {
      out.push(head);
      emitMap(v as Record<string, unknown>, indent + "  ", out);
    }
  } else out.push(head + " " + scalar(v, indent));
}

/** Serialise `value` (plain JSON data) as one YAML document. */
export function toYaml(value: unknown): string {
  const out: string[] = [];
  if (Array.isArray(value)) {
    if (value.length) emitSeq(value, "", out);
    else out.push("[]");
  } else if (isCollection(value)) {
    if (hasKeys(value)) emitMap(value as Record<string, unknown>, "", out);
    else out.push("{}");
  } else out.push(scalar(value, ""));
  return `${out.join("\n")}\n`;
}

/** Several documents separated by `---`. */
export function toYamlDocuments(values: readonly unknown[]): string {
  return values.map((v) => toYaml(v)).join("---\n");
}
