/**
 * The POSIX sh script a Tekton step runs when the user's program alone cannot do what the
 * IR asks: keep its stdout or declared output files as Tekton results (Tekton only reads
 * results from files under `$(results.<name>.path)`), or run a script source whose
 * interpreter cannot be a shebang line or whose text holds Tekton variable syntax.
 *
 * The user's program still sees exactly its own argv (passed through `"$@"`), env, stdin,
 * stderr and file descriptors; its stdout is teed, and its exit code is the step's.
 * The wrapper needs `/bin/sh` (and `tee`, `cat`, `cp`, `mktemp`) in the step's image.
 */
import { posix } from "node:path";
import { shWord, tektonInert } from "./escape.js";

export interface WrapperSpec {
  /** Script steps: the source, written to a temporary file and run as `interpreter file "$@"`. */
  readonly source?: { readonly text: string; readonly interpreter: readonly string[] };
  /** Tekton result that receives stdout (without its final newline). */
  readonly stdoutResult?: string;
  /** Files the program leaves behind, copied into results after it succeeds. */
  readonly outputs: readonly { readonly path: string; readonly result: string }[];
  /**
   * A fan-in list: the first `words` arguments are the program's; the rest are the gathered
   * results of a fan-out, which become one JSON list of strings at each of `positions`.
   */
  readonly fanIn?: { readonly words: number; readonly positions: readonly number[] };
  /**
   * Artifacts passed through a shared workspace: each input is copied from
   * `<workspace>/<from>` to its path before the program starts; each output is copied from
   * its path to `<workspace>/<to>` after it succeeds.
   */
  readonly artifacts?: {
    readonly workspace: string;
    readonly inputs: readonly { readonly from: string; readonly path: string }[];
    readonly outputs: readonly { readonly path: string; readonly to: string }[];
  };
}

/** A delimiter line that does not occur in `text`. */
function heredocDelimiter(text: string): string {
  const lines = new Set(text.split("\n"));
  let d = "COULER_SOURCE";
  for (let i = 2; lines.has(d); i++) d = `COULER_SOURCE_${i}`;
  return d;
}

/** Rebuild the program's argv with the gathered results as JSON list text. */
function fanInLines(words: number, positions: readonly number[]): string[] {
  const lines: string[] = [];
  for (let i = 0; i < words; i++) lines.push(`w${i}=$${i < 9 ? i + 1 : `{${i + 1}}`}`);
  if (words) lines.push(`shift ${words}`);
  // Tekton gathers a matrix task's results from its TaskRuns sorted by name as strings
  // (tektoncd/pipeline pkg/reconciler/pipelinerun/resources/pipelinerunresolution.go,
  // createResultsCacheMatrixedTaskRuns): items 0, 1, 10, 11, 2, ... Put each back at its index:
  // the k-th value belongs to the k-th index in that order (0, then 1..n-1 in lexicographic order).
  lines.push(
    "n=$#",
    "m=$((n - 1))",
    "cur=1",
    "first=1",
    'for it in "$@"; do',
    '  if [ "$first" = 1 ]; then first=0; v_0=$it; continue; fi',
    '  eval "v_$cur=\\$it"',
    '  if [ $((cur * 10)) -le "$m" ]; then cur=$((cur * 10)); else',
    '    if [ "$cur" -ge "$m" ]; then cur=$((cur / 10)); fi',
    "    cur=$((cur + 1))",
    "    while [ $((cur % 10)) -eq 0 ]; do cur=$((cur / 10)); done",
    "  fi",
    "done",
  );
  lines.push(
    "nl='",
    "'",
    "tab=`printf '\\t'`",
    "cr=`printf '\\r'`",
    "json='['",
    "sep=''",
    "i=0",
    'while [ "$i" -lt "$n" ]; do',
    '  eval "it=\\$v_$i"',
    "  i=$((i + 1))",
    "  esc=''",
    '  rest=$it',
    '  while [ -n "$rest" ]; do',
    '    c=${rest%"${rest#?}"}',
    '    rest=${rest#?}',
    '    case $c in',
    String.raw`      '\') esc="$esc\\\\" ;;`,
    String.raw`      '"') esc="$esc\\\"" ;;`,
    String.raw`      "$nl") esc="$esc\\n" ;;`,
    String.raw`      "$tab") esc="$esc\\t" ;;`,
    String.raw`      "$cr") esc="$esc\\r" ;;`,
    '      *) esc="$esc$c" ;;',
    '    esac',
    '  done',
    String.raw`  json="$json$sep\"$esc\""`,
    "  sep=','",
    'done',
    'json="$json]"',
  );
  const argv = Array.from({ length: words }, (_, i) => (positions.includes(i) ? '"$json"' : `"$w${i}"`));
  lines.push(`set --${argv.map((a) => ` ${a}`).join("")}`);
  return lines;
}

/**
 * The wrapper script's text.
 *
 * ```ts
 * wrapperScript({ stdoutResult: "result", outputs: [] });
 * ```
 */
export function wrapperScript(w: WrapperSpec): string {
  const lines: string[] = ["#!/bin/sh", "# couler: runs the step's program and keeps what it produces as Tekton results"];
  let run = `"$@"`;
  if (w.fanIn) lines.push(...fanInLines(w.fanIn.words, w.fanIn.positions));
  const ws = w.artifacts?.workspace;
  for (const a of w.artifacts?.inputs ?? []) {
    // A folder's contents land at the path (merged into what is there); a file lands as the path.
    const from = `"${ws}"/${shWord(a.from)}`;
    const to = shWord(a.path);
    lines.push(`if [ -d ${from} ]; then mkdir -p ${to} && cp -R ${from}/. ${to}; else mkdir -p ${shWord(posix.dirname(a.path))} && cp ${from} ${to}; fi || exit 1`);
  }
  if (w.source) {
    // /workspace is Tekton's own emptyDir: writable even with a read-only root filesystem.
    lines.push("src=`mktemp 2>/dev/null || mktemp -p /workspace`");
    const text = w.source.text;
    if (tektonInert(text)) {
      const d = heredocDelimiter(text);
      lines.push(`cat > "$src" <<'${d}'`, text.endsWith("\n") ? text.slice(0, -1) : text, d);
    } else {
      // Tekton would substitute inside a heredoc: every `$` leaves the script quoted apart from `(`.
      lines.push(`printf '%s' ${shWord(text)} > "$src"`);
    }
    run = `${w.source.interpreter.map(shWord).join(" ")} "$src" "$@"`;
  }
  if (w.stdoutResult !== undefined) {
    const r = `"$(results.${w.stdoutResult}.path)"`;
    // The program's status travels on fd 3 out of the pipeline; fd 4 is the real stdout.
    lines.push("exec 4>&1", `rc=\`{ { ${run} 3>&- 4>&-; echo "$?" >&3; } | tee ${r} >&4; } 3>&1\``);
  } else {
    lines.push(run, "rc=$?");
  }
  lines.push(`if [ "$rc" -ne 0 ]; then exit "$rc"; fi`);
  for (const o of w.outputs) {
    lines.push(`cp ${shWord(o.path)} "$(results.${o.result}.path)" || exit 1`);
  }
  for (const a of w.artifacts?.outputs ?? []) {
    const to = `"${ws}"/${shWord(a.to)}`;
    lines.push(`rm -rf ${to} && mkdir -p "${ws}"/${shWord(posix.dirname(a.to))} && cp -R ${shWord(a.path)} ${to} || exit 1`);
  }
  if (w.stdoutResult !== undefined) {
    const r = `"$(results.${w.stdoutResult}.path)"`;
    lines.push("nl='", "'", `out=\`cat ${r}; echo .\``, "out=${out%.}", `printf '%s' "\${out%"$nl"}" > ${r}`);
  }
  return `${lines.join("\n")}\n`;
}
