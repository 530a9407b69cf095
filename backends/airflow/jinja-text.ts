/**
 * Text for Airflow's templated operator fields (KPO `cmds`/`arguments`/`env_vars`,
 * BashOperator `bash_command`/`env`, `op_kwargs`). Airflow renders every string in those
 * fields with Jinja, so literal user text must never reach Jinja as template source when
 * it could mean something there. Rule: a literal piece is written as it is unless Jinja
 * could read it differently; then it is written as a Jinja expression that evaluates to
 * exactly that text, `{{ '...' }}`. A piece is risky when it contains `{{`, `{%` or `{#`,
 * ends with `{` (it would join the `{{` of a following expression), contains a carriage
 * return (Jinja normalises newlines in template data) or ends the whole text with a
 * newline (Jinja drops one trailing newline). A whole text that ends in one of the
 * extensions Airflow treats as a template *file* name (`.json`, `.sh`, ...) gets its last
 * character moved into an expression, so Airflow does not try to load it as a file.
 * Expressions (parameters, XCom reads) are built by this backend, never from user text.
 */

/** A piece of templated text: literal user text, or a Jinja expression we built. */
export type JinjaPart = string | { readonly expr: string };

/** Endings Airflow operators declare in `template_ext` (KPO: yaml/yml/json; Bash: .sh/.bash). */
const TEMPLATE_EXT = ["json", "yaml", "yml", ".sh", ".bash", ".sql"];

/**
 * A Jinja single-quoted string literal for `s`. Jinja's lexer undoes Python-style escapes
 * (`unicode-escape`), so control characters are written as escapes.
 *
 * @example jinjaStr("it's {{x}}") // => "'it\\'s {{x}}'"
 */
export function jinjaStr(s: string): string {
  let out = "'";
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (ch === "\\") out += "\\\\";
    else if (ch === "'") out += "\\'";
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (cp < 0x20 || cp === 0x7f) out += `\\x${cp.toString(16).padStart(2, "0")}`;
    else out += ch;
  }
  return `${out}'`;
}

function risky(text: string, last: boolean): boolean {
  return /\{[{%#]/.test(text) || text.endsWith("{") || text.includes("\r") || (last && text.endsWith("\n"));
}

/**
 * The Jinja template text that renders to the literal pieces and expressions in order.
 *
 * @example jinjaText(["--day=", { expr: "params.day" }]) // => "--day={{ params.day }}"
 */
export function jinjaText(parts: readonly JinjaPart[]): string {
  // merge neighbouring literals so a `{` + `{` split over two pieces is seen
  const merged: JinjaPart[] = [];
  for (const p of parts) {
    const prev = merged[merged.length - 1];
    if (typeof p === "string" && typeof prev === "string") merged[merged.length - 1] = prev + p;
    else if (p !== "") merged.push(p);
  }
  const out: string[] = [];
  merged.forEach((p, i) => {
    const last = i === merged.length - 1;
    if (typeof p !== "string") out.push(`{{ ${p.expr} }}`);
    else if (risky(p, last)) out.push(`{{ ${jinjaStr(p)} }}`);
    else if (last && TEMPLATE_EXT.some((e) => p.endsWith(e))) {
      const cut = p.length - 1;
      out.push(p.slice(0, cut), `{{ ${jinjaStr(p.slice(cut))} }}`);
    } else out.push(p);
  });
  return out.join("");
}
