/**
 * POSIX `sh` text for the run steps. User text never appears in a script: a word is
 * written as is only when it is a plain word (letters, digits and `_@%+=:,./-`) that no
 * shell and no GitHub expression reads specially; anything else reaches the script
 * through an env var and is read as `"$VAR"`.
 */

const PLAIN = /^[A-Za-z0-9_@%+=:,./-]+$/;
const RESERVED = new Set([
  "if", "then", "else", "elif", "fi", "do", "done", "case", "esac", "while", "until", "for", "in", "function", "select", "time",
]);

/**
 * True when `word` can be written into a script unquoted. The first word of a command
 * may not look like an assignment or be a reserved word.
 * ```ts
 * plainWord("cowsay", true) // true
 * plainWord("hello world", false) // false: travels through env
 * ```
 */
export function plainWord(word: string, first: boolean): boolean {
  if (!PLAIN.test(word)) return false;
  if (first && (word.includes("=") || RESERVED.has(word))) return false;
  return true;
}

/** A heredoc delimiter that is no line of `text` (decided at compile time: the text is static). */
export function heredocDelimiter(text: string, base = "COULER_SCRIPT_EOF"): string {
  const lines = new Set(text.split(/\r?\n/));
  let d = base;
  for (let i = 1; lines.has(d); i++) d = `${base}_${i}`;
  return d;
}

/**
 * The shell function that appends one output to `$GITHUB_OUTPUT` in the multi-line form
 * `name<<DELIM`. The delimiter is derived at run time: `COULER_EOF_<n>` with the first n
 * for which the text does not occur anywhere in the data, so no line of the data can end
 * the value early. One final newline of the data is dropped (GitHub's own rule for this
 * form; a step's result is its stdout without the final newline).
 */
export const EMIT_OUTPUT_FN = [
  "couler_output() {",
  '  if [ ! -f "$2" ]; then echo "couler: output $1: no file $2" >&2; exit 1; fi',
  "  couler_n=0",
  '  while grep -qF "COULER_EOF_$couler_n" "$2"; do couler_n=$((couler_n + 1)); done',
  "  {",
  '    printf \'%s<<COULER_EOF_%s\\n\' "$1" "$couler_n"',
  '    cat "$2"',
  '    if [ -n "$(tail -c 1 "$2")" ]; then echo; fi',
  "    printf 'COULER_EOF_%s\\n' \"$couler_n\"",
  '  } >> "$GITHUB_OUTPUT"',
  "}",
];

/**
 * The shell function that appends an output's bytes in lower-case hex (one final newline
 * dropped, as for the value itself): conditions compare it, because GitHub's `==` ignores
 * case and hex has no case to ignore.
 */
export const EMIT_HEX_FN = [
  "couler_hex() {",
  "  couler_h=$(od -An -tx1 -v \"$2\" | tr -d ' \\n')",
  '  case "$couler_h" in *0a) couler_h=${couler_h%0a} ;; esac',
  '  printf \'%s=%s\\n\' "$1" "$couler_h" >> "$GITHUB_OUTPUT"',
  "}",
];
