/**
 * Names and limits on GitHub Actions: job ids, output and artifact names, secret names, and the
 * length GitHub allows an expression.
 */
import type { NameRule } from "../common/names.js";

export const IDENT = /^[_a-zA-Z][a-zA-Z0-9_-]*$/;

/** GitHub job ids and output names: `^[_a-zA-Z][a-zA-Z0-9_-]*$`. */
export const JOB_ID: NameRule = {
  what: "job id",
  target: "github",
  valid: IDENT,
  maxLength: 100,
  fix: (n) => {
    const s = n.replace(/[^a-zA-Z0-9_-]+/g, "_");
    return /^[_a-zA-Z]/.test(s) ? s : `_${s}`;
  },
};
export const OUTPUT_NAME: NameRule = { ...JOB_ID, what: "job output name" };
/** Artifact names and folder names we derive from them: plain words only. */
export const ARTIFACT_KEY: NameRule = { ...JOB_ID, what: "artifact name", valid: /^[a-zA-Z0-9_-]+$/, fix: (n) => n.replace(/[^a-zA-Z0-9_-]+/g, "_") };

export const PERMISSION_SCOPES = [
  "actions", "attestations", "checks", "contents", "deployments", "discussions", "id-token", "issues", "models", "packages", "pages",
  "pull-requests", "repository-projects", "security-events", "statuses",
];

export const MAX_MATRIX = 256;
export const MAX_FILE_BYTES = 512 * 1024;
/** GitHub refuses a string holding `${{` whose expression (a `format(...)` of its parts) is longer. */
export const MAX_EXPRESSION = 21000;

/**
 * The length of the expression GitHub makes of a string holding `${{`: literal parts with
 * `'`, `{` and `}` doubled inside `format('...')`, plus each expression.
 */
export function expressionLength(s: string): number {
  let n = "format('')".length;
  let i = 0;
  for (;;) {
    const start = s.indexOf("${{", i);
    const lit = s.slice(i, start < 0 ? s.length : start);
    n += lit.length + (lit.match(/['{}]/g)?.length ?? 0);
    if (start < 0) return n;
    let j = start + 3;
    let quoted = false;
    for (; j < s.length; j++) {
      if (s[j] === "'") quoted = !quoted;
      else if (!quoted && s[j] === "}" && s[j - 1] === "}") break;
    }
    n += j - 1 - (start + 3) + 5;
    i = j + 1;
  }
}

/**
 * The GitHub secret name for key `key` of secret `secret`: both joined by `_`, upper case,
 * anything but letters, digits and `_` replaced by `_`; `_` in front when the result would
 * start with a digit or `GITHUB_` (names GitHub refuses).
 * ```ts
 * githubSecretName("db-credentials", "password") // "DB_CREDENTIALS_PASSWORD"
 * ```
 */
export function githubSecretName(secret: string, key: string): string {
  const n = `${secret}_${key}`.toUpperCase().replace(/[^A-Z0-9_]/g, "_");
  return /^[0-9]/.test(n) || n.startsWith("GITHUB_") ? `_${n}` : n;
}
