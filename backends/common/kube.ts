/**
 * Kubernetes expands `$(VAR)` (VAR an env var of the container) and turns `$$` into `$`
 * in a container's command, args and env values. Text that must reach the program as
 * written has each `$` that Kubernetes would read doubled.
 */

/**
 * `s` as Kubernetes must see it: a `$` before `(` or `$` is doubled, and so is a final `$`
 * when a run-time value follows (it might start with `(`). Any other `$` stays, as
 * Kubernetes leaves it.
 * ```ts
 * kubeLiteral("cost $$5", false) // "cost $$$5": Kubernetes gives the program "cost $$5"
 * ```
 */
export function kubeLiteral(s: string, beforeValue: boolean): string {
  return s.replace(/\$(?=[$(]|$)/g, (m, offset: number) => (offset === s.length - 1 && !beforeValue ? m : "$$"));
}
