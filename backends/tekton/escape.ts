/**
 * Keeping user text literal on Tekton.
 *
 * Two engines rewrite `$(` in a step: Tekton substitutes `$(params.x)`, `$(context.…)`,
 * `$(results.…)`, `$(workspaces.…)`, `$(steps.…)`, `$(tasks.…)` in several passes (params
 * first, then context, results, workspaces: a value one pass inserts is scanned by the next),
 * and Kubernetes expands `$(NAME)` and turns `$$` into `$` in command, args and env values.
 * Neither offers an escape. So a literal never reaches either engine with a `$` that could
 * start something: in command, args and env values such a `$` is written as
 * `$(COULER_DOLLAR)`, an env var holding `$` that Kubernetes expands last, in one pass (Tekton
 * leaves `$(COULER_DOLLAR)` alone: every Tekton variable is `$(root.…)` or `$(root[…])`).
 * Fields only Tekton reads (when expressions, scripts, images, paths) accept a literal only
 * when it holds no Tekton variable syntax at all; scripts are rewritten so it cannot appear.
 */

/** The env var that holds a single `$` in steps whose literals needed escaping. */
export const DOLLAR_ENV = "COULER_DOLLAR";

/** `$(` followed by a name and `.` or `[`: the shape of every Tekton variable. */
const TEKTON_VAR = /\$\(\s*[A-Za-z_][\w-]*\s*[.[]/;

/**
 * True when Tekton would leave `s` unchanged in any templated field.
 *
 * ```ts
 * tektonInert("echo $(date)"); // true
 * tektonInert("echo $(params.x)"); // false
 * ```
 */
export function tektonInert(s: string): boolean {
  return !TEKTON_VAR.test(s);
}

/**
 * A literal piece of a command, arg or env value, written so that Tekton and Kubernetes
 * together turn it back into exactly `s`. `last` says whether nothing follows the piece in
 * the field (a `$` at the very end is then harmless).
 *
 * ```ts
 * kubeLiteral("echo $((1+2)) $HOME", true); // "echo $(COULER_DOLLAR)((1+2)) $HOME"
 * ```
 */
export function kubeLiteral(s: string, last: boolean): string {
  let out = "";
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c !== "$") {
      out += c;
      continue;
    }
    const next = s[i + 1];
    const risky = next === "(" || next === "$" || (next === undefined && !last);
    out += risky ? `$(${DOLLAR_ENV})` : "$";
  }
  return out;
}

/** Does `kubeLiteral` change `s`? */
export function needsKubeEscape(s: string, last: boolean): boolean {
  return kubeLiteral(s, last) !== s;
}

/**
 * One POSIX shell word for `s` that never contains `$(` (a `$` is written `"$"`, which
 * every sh reads as a plain dollar), so Tekton cannot see a variable in it either.
 *
 * ```ts
 * shWord("it's $(x)"); // 'it'\''s '"$"'(x)'
 * ```
 */
export function shWord(s: string): string {
  if (/^[A-Za-z0-9_./=:,+-]+$/.test(s)) return s;
  return `'${s.replace(/'/g, `'\\''`).replace(/\$/g, `'"$"'`)}'`;
}

/**
 * The workflow status read as a value in a command, arg or env value. Tekton's
 * `$(tasks.status)` is Succeeded, Completed (succeeded, some tasks skipped), Failed or None;
 * the IR's is Succeeded or Failed. Tekton has no function to map a value, but Kubernetes
 * expands env vars after Tekton: the value is written `$(COULER_STATUS_$(params.p))`, which
 * Tekton turns into `$(COULER_STATUS_Completed)` and Kubernetes into the matching env var's
 * value below (the step gets these env vars first in its env).
 */
export const STATUS_ENV: readonly { readonly name: string; readonly value: string }[] = [
  { name: "COULER_STATUS_Succeeded", value: "Succeeded" },
  { name: "COULER_STATUS_Completed", value: "Succeeded" },
  { name: "COULER_STATUS_Failed", value: "Failed" },
  { name: "COULER_STATUS_None", value: "None" },
];

/** A Task param holding `$(tasks.status)`, as the IR's workflow status (see STATUS_ENV). */
export function statusValue(param: string): string {
  return `$(COULER_STATUS_$(params.${param}))`;
}
