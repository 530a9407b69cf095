/**
 * POSIX shell quoting, for the scripts the Airflow backend writes: BashOperator commands
 * and the small wrapper that collects a pod step's outputs into XCom.
 */
import { shortHash } from "../common/names.js";

/**
 * One shell word that the shell reads back as exactly `s` (like Python's `shlex.quote`):
 * safe characters stay bare, anything else is single-quoted with `'` written as `'"'"'`.
 *
 * @example shQuote("it's") // => "'it'\"'\"'s'"
 */
export function shQuote(s: string): string {
  if (s !== "" && /^[A-Za-z0-9_@%+=:,./-]+$/.test(s)) return s;
  return `'${s.replace(/'/g, `'"'"'`)}'`;
}

/**
 * A here-document delimiter that is no line of `text`, so a quoted here-document
 * (`<<'DELIM'`) carries `text` verbatim, with no expansion and no early end.
 *
 * @example heredocDelimiter("print(1)") // => "COULER_EOF_" + 8 hex digits
 */
export function heredocDelimiter(text: string): string {
  const lines = new Set(text.split("\n"));
  let d = `COULER_EOF_${shortHash(text)}`;
  for (let i = 2; lines.has(d); i++) d = `COULER_EOF_${shortHash(`${i}:${text}`)}`;
  return d;
}
