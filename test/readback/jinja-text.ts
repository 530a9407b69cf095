/**
 * How Jinja (Airflow's templated fields) reads a string: template data, `{{ expr }}`
 * expressions, and `{% … %}` / `{# … #}` blocks. Expressions that are one string literal
 * (`{{ '…' }}`, Python-style escapes) evaluate to their text; other expressions are kept as
 * source for the readers. A `{%` or `{#` anywhere is reported as a block: the Airflow backend
 * never emits one, so one means user text became template code.
 */

export type JinjaPart = { readonly lit: string } | { readonly expr: string } | { readonly block: string };

export function jinjaParts(text: string): JinjaPart[] {
  const out: JinjaPart[] = [];
  let lit = "";
  let i = 0;
  while (i < text.length) {
    const open = /\{\{|\{%|\{#/g;
    open.lastIndex = i;
    const m = open.exec(text);
    if (!m) {
      lit += text.slice(i);
      break;
    }
    lit += text.slice(i, m.index);
    if (lit) out.push({ lit });
    lit = "";
    const close = m[0] === "{{" ? "}}" : m[0] === "{%" ? "%}" : "#}";
    let j = m.index + 2;
    while (j < text.length && !text.startsWith(close, j)) {
      if (m[0] !== "{#" && (text[j] === "'" || text[j] === '"')) {
        const q = text[j]!;
        j++;
        while (j < text.length && text[j] !== q) j += text[j] === "\\" ? 2 : 1;
      }
      j++;
    }
    if (j >= text.length) throw new Error(`unclosed ${m[0]} in ${JSON.stringify(text)}`);
    const body = text.slice(m.index + 2, j);
    out.push(m[0] === "{{" ? { expr: body.trim() } : { block: m[0] + body + close });
    i = j + 2;
  }
  if (lit) out.push({ lit });
  return out;
}

/** The text of a Jinja string literal expression (`'…'`), or undefined when it is something else. */
export function jinjaLiteral(expr: string): string | undefined {
  const m = /^'((?:[^'\\]|\\.)*)'$/s.exec(expr) ?? /^"((?:[^"\\]|\\.)*)"$/s.exec(expr);
  if (!m) return undefined;
  return m[1]!.replace(/\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|.)/gs, (_, e: string) => {
    const simple: Record<string, string> = { n: "\n", r: "\r", t: "\t", "\\": "\\", "'": "'", '"': '"', "0": "\0" };
    if (e.length === 1) {
      if (!(e in simple)) throw new Error(`unknown escape \\${e}`);
      return simple[e]!;
    }
    return String.fromCodePoint(parseInt(e.slice(1), 16));
  });
}

/** What a templated field renders to, with non-literal expressions shown as `⟨expr⟩`. */
export function jinjaEvaluate(text: string): string {
  return jinjaParts(text)
    .map((p) => ("lit" in p ? p.lit : "expr" in p ? (jinjaLiteral(p.expr) ?? `⟨${p.expr}⟩`) : `⟨BLOCK ${p.block}⟩`))
    .join("");
}
