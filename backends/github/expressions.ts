/**
 * GitHub Actions expression text. Two rules keep user text inert:
 * - In a template string (a value where GitHub expands `${{ ... }}`), user text is literal
 *   except each `${{`, which becomes the expression `${{ '${{' }}` that evaluates to
 *   exactly `${{` (see `templateText`).
 * - Inside an expression, user text is only ever a quoted string literal (`'` doubled),
 *   or `fromJSON('"..."')` for text with control characters (see `stringLiteral`).
 */

const OPEN = "${{";

/**
 * User text for a field GitHub expands: literal, with every `${{` neutralised.
 * ```ts
 * templateText("a ${{ b }}") // "a ${{ '${{' }} b }}", which GitHub evaluates to "a ${{ b }}"
 * ```
 */
export function templateText(s: string): string {
  return s.split(OPEN).join(`${OPEN} '${OPEN}' }}`);
}

/**
 * A string literal in an expression. GitHub's scanner skips quoted text when it looks for
 * the closing `}}`, so braces and `${{` inside the quotes are harmless.
 * ```ts
 * stringLiteral("it's") // "'it''s'"
 * ```
 */
export function stringLiteral(s: string): string {
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(s)) return `fromJSON(${stringLiteral(JSON.stringify(s))})`;
  return `'${s.replace(/'/g, "''")}'`;
}

/** `${{ expr }}`: the whole value is one expression. */
export function wrap(expr: string): string {
  return `${OPEN} ${expr} }}`;
}

/** A context property: `needs.build.outputs.result`, or `inputs['odd name']` when a part is not an identifier. */
export function property(base: string, ...keys: string[]): string {
  let out = base;
  for (const k of keys) out += /^[A-Za-z_][A-Za-z0-9_-]*$/.test(k) ? `.${k}` : `[${stringLiteral(k)}]`;
  return out;
}

/** Does this text mean the same compared with or without case (no cased letters)? */
export function caseless(s: string): boolean {
  return s.toLowerCase() === s.toUpperCase();
}
