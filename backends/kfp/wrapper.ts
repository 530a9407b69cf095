/**
 * The POSIX sh script an executor runs when the user's program alone cannot do what the IR
 * asks: keep its stdout as an output parameter (KFP reads outputs only from the files named by
 * `{{$.outputs.parameters['x'].output_file}}`), copy declared output files there, set env
 * vars whose values are only known at run time (KFP container env values are not templated:
 * backend/src/v2/driver/driver.go copies them as written), or run a script source.
 *
 * Everything variable travels as positional arguments after the script (`sh -c SCRIPT couler
 * ARGS...`), never inside the script text: the source, the run-time env values, the output
 * file paths, then the program's own argv. The program sees exactly that argv, its env,
 * stdin and stderr; its stdout is teed, and its exit code is the step's.
 */
import { posix } from "node:path";

export interface WrapperSpec {
  /** Script steps: the source is written to a temporary file, inserted after the interpreter's `interpreterWords` words. */
  readonly source?: { readonly interpreterWords: number };
  /** Env var names whose values come next in the arguments, in order. */
  readonly env: readonly string[];
  /** Stdout is kept (without its final newline) in the next argument's file. */
  readonly stdout: boolean;
  /** Files the program leaves behind, copied to the next arguments' files after it succeeds. */
  readonly outputs: readonly string[];
  /** The folder the program runs in. */
  readonly workingDir?: string;
  /** Output artifacts: paths copied (files or folders) to the next arguments' paths after it succeeds. */
  readonly artifactsOut?: readonly string[];
  /** Input artifacts: the next arguments' files or folders, placed at these paths before it starts. */
  readonly artifactsIn?: readonly string[];
}

/** `s` as one sh word. */
export function shWord(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * The script's text; `$0` is `couler`.
 *
 * ```ts
 * wrapperScript({ env: [], stdout: true, outputs: [] });
 * ```
 */
export function wrapperScript(w: WrapperSpec): string {
  const lines: string[] = ["# couler: runs the step's program and keeps what it produces as KFP output parameters"];
  if (w.source) lines.push('src=$1; shift');
  for (const name of w.env) lines.push(`export ${name}="$1"; shift`);
  if (w.stdout) lines.push('res=$1; shift');
  w.outputs.forEach((_, i) => lines.push(`o${i}=$1; shift`));
  (w.artifactsOut ?? []).forEach((_, i) => lines.push(`a${i}=$1; shift`));
  (w.artifactsIn ?? []).forEach((path, i) => {
    // A folder's contents land at the path (merged into what is there); a file lands as the path.
    const to = shWord(path);
    lines.push(`if [ -d "$1" ]; then mkdir -p ${to} && cp -R "$1"/. ${to}; else mkdir -p ${shWord(posix.dirname(path))} && cp "$1" ${to}; fi || exit 1; shift`);
    void i;
  });
  if (w.source) {
    const k = w.source.interpreterWords;
    lines.push(
      'f=`mktemp` && printf \'%s\' "$src" > "$f" || exit 1',
      `i=0; for a do shift; if [ "$i" -eq ${k} ]; then set -- "$@" "$f"; fi; set -- "$@" "$a"; i=\`expr "$i" + 1\`; done`,
      `if [ "$i" -eq ${k} ]; then set -- "$@" "$f"; fi`,
    );
  }
  if (w.workingDir !== undefined) lines.push(`cd ${shWord(w.workingDir)} || exit 1`);
  const outs = w.outputs.length + (w.artifactsOut?.length ?? 0);
  if (!w.stdout && !outs) {
    lines.push('exec "$@"');
    return lines.join("\n");
  }
  if (w.stdout) {
    // The program's status travels on fd 3 out of the pipeline; fd 4 is the real stdout.
    lines.push("exec 4>&1", 'rc=`{ { "$@" 3>&- 4>&-; echo "$?" >&3; } | tee "$res" >&4; } 3>&1`');
  } else lines.push('"$@"', "rc=$?");
  lines.push('if [ "$rc" -ne 0 ]; then exit "$rc"; fi');
  w.outputs.forEach((path, i) => lines.push(`cp ${shWord(path)} "$o${i}" || exit 1`));
  (w.artifactsOut ?? []).forEach((path, i) => lines.push(`rm -rf "$a${i}" && cp -R ${shWord(path)} "$a${i}" || exit 1`));
  if (w.stdout) lines.push("nl='", "'", 'out=`cat "$res"; echo .`', "out=${out%.}", `printf '%s' "\${out%"$nl"}" > "$res"`);
  return lines.join("\n");
}
