/**
 * Tekton's variable substitution, pass by pass.
 *
 * Tekton replaces `$(key)` with a string (`substitution.ApplyReplacements`, pkg/substitution/
 * substitution.go) and a whole field that is exactly `$(key[*])` with an array
 * (`ApplyArrayReplacements`). Each pass replaces only its own keys, and later passes scan what
 * earlier ones inserted, in this order:
 * - pipeline level (pkg/reconciler/pipelinerun/resources/apply.go): `ApplyParameters`
 *   (`params.x`), `ApplyContexts` (`context.pipelineRun.name`, …), `ApplyPipelineTaskContexts`
 *   (`context.pipelineTask.retries`), `ApplyTaskResults` (`tasks.t.results.r`),
 *   `ApplyPipelineTaskStateContext` (finally only: `tasks.t.status`, `tasks.status`);
 * - task level (pkg/reconciler/taskrun/taskrun.go, applyParamsContextsResultsAndWorkspaces and
 *   after it; pkg/reconciler/taskrun/resources/apply.go): `ApplyParameters`, `ApplyContexts`
 *   (`context.taskRun.name`, `context.task.retry-count`), `ApplyResults` (`results.r.path`),
 *   `ApplyStepExitCodePath` (`steps.step-x.exitCode.path`), `ApplyWorkspaces`.
 * Within one pass Tekton replaces key after key (Go map order); here one pass is one left-to-right
 * scan, which is the same whenever no inserted value holds another key of the same pass.
 */

export type ParamValue = string | readonly string[];

/** One pass: string values by key, array values by key (for `$(key[*])`). */
export interface Pass {
  readonly str: ReadonlyMap<string, string>;
  readonly arr?: ReadonlyMap<string, readonly string[]>;
}

/** A pass from a record of keys, where an array value also answers `key[i]` (as Tekton's replacements do). */
export function pass(entries: Iterable<readonly [string, ParamValue]>): Pass {
  const str = new Map<string, string>();
  const arr = new Map<string, readonly string[]>();
  for (const [k, v] of entries) {
    if (typeof v === "string") str.set(k, v);
    else {
      arr.set(k, v);
      v.forEach((x, i) => str.set(`${k}[${i}]`, x));
    }
  }
  return { str, arr };
}

const VAR = /\$\(([^()]*)\)/g;

/** Replace every `$(key)` of this pass in `text` (one scan: inserted text is not rescanned by this pass). */
export function substitute(text: string, p: Pass): string {
  return text.replace(VAR, (m, key: string) => p.str.get(key) ?? m);
}

/** A field that may expand to several (command and args elements, array params, matrix values). */
export function substituteArray(text: string, p: Pass): string[] {
  const m = /^\$\(([^()]*)\[\*\]\)$/.exec(text);
  if (m && p.arr?.has(m[1]!)) return [...p.arr.get(m[1]!)!];
  return [substitute(text, p)];
}

/** Apply passes in order to a string value. */
export function applyAll(text: string, passes: readonly Pass[]): string {
  return passes.reduce((t, p) => substitute(t, p), text);
}

/** Apply passes in order to a value that may become an array (a whole `$(x[*])` field). */
export function applyAllArray(value: ParamValue, passes: readonly Pass[]): ParamValue {
  let cur: ParamValue = value;
  for (const p of passes) {
    if (typeof cur === "string") {
      const m = /^\$\(([^()]*)\[\*\]\)$/.exec(cur);
      cur = m && p.arr?.has(m[1]!) ? [...p.arr.get(m[1]!)!] : substitute(cur, p);
    } else cur = cur.flatMap((x) => substituteArray(x, p));
  }
  return cur;
}

/** The `tasks.t.results.r` keys a text reads (result references make DAG edges: PipelineTask.Deps). */
export function resultRefs(text: string): { task: string; result: string }[] {
  const out: { task: string; result: string }[] = [];
  for (const m of text.matchAll(VAR)) {
    const r = /^tasks\.([^.]+)\.results\.([^.[\]]+)(\[[^\]]*\])?$/.exec(m[1]!);
    if (r) out.push({ task: r[1]!, result: r[2]! });
  }
  return out;
}
