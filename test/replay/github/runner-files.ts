/**
 * How the runner turns a `run:` step into a process, and reads the files a step writes.
 */

/**
 * The argv for a `run:` step whose script was written to `file` (actions/runner
 * `src/Runner.Worker/Handlers/ScriptHandler.cs`, RunAsync: a `shell:` of `bash`, `sh` or
 * `python` takes its default arguments from `ScriptHandlerHelpers.cs` `_defaultArguments`
 * (`bash --noprofile --norc -e -o pipefail {0}`, `sh -e {0}`, `python {0}`); any other value is
 * split at its first space into a command and a format that must hold `{0}`; no `shell:` on
 * Linux is `bash -e {0}` (bash when found, else sh, with the arguments of `sh`)). The script
 * file gets the extension of `_extensions` (`.sh`, `.py`, none for a custom shell).
 */
export function shellArgv(shell: string | undefined, file: string): string[] {
  const defaults: Record<string, string> = { bash: "--noprofile --norc -e -o pipefail {0}", sh: "-e {0}", python: "{0}" };
  let command: string;
  let format: string;
  if (shell === undefined || shell === "") {
    command = "bash";
    format = defaults.sh!;
  } else {
    const at = shell.indexOf(" ");
    command = at < 0 ? shell : shell.slice(0, at);
    format = at < 0 ? "" : shell.slice(at + 1).trimStart();
    if (format === "") format = defaults[command] ?? "";
  }
  if (!format.includes("{0}")) throw new Error(`invalid shell option ${JSON.stringify(shell)}: a built-in shell or a format with {0}`);
  // string.Format, then the process arguments split at spaces (our formats hold no quotes)
  return [command, ...format.replace("{0}", file).split(" ").filter((w) => w !== "")];
}

/** The script file's extension (ScriptHandlerHelpers.GetScriptFileExtension). */
export function scriptExtension(shell: string | undefined): string {
  const cmd = (shell ?? "sh").split(" ")[0]!;
  return ({ bash: ".sh", sh: ".sh", python: ".py" } as Record<string, string>)[cmd] ?? "";
}

/**
 * Parse a `$GITHUB_OUTPUT` / `$GITHUB_ENV` file (actions/runner
 * `src/Runner.Worker/FileCommandManager.cs`, EnvFileKeyValuePairs.GetEnumerator): lines are
 * split at `\n`; an empty line is ignored; `NAME=VALUE` when `=` comes before any `<<`;
 * `NAME<<DELIM` takes the lines up to a line that equals DELIM (the value is the text between,
 * without the newline before DELIM); a missing delimiter, a delimiter line without a final
 * newline before it... or any other line is an error that fails the step.
 */
export function parseFileCommands(text: string): [string, string][] {
  const out: [string, string][] = [];
  let index = 0;
  const readLine = (): { line: string; newline: boolean } | undefined => {
    if (index >= text.length) return undefined;
    const lf = text.indexOf("\n", index);
    if (lf < 0) {
      const line = text.slice(index);
      index = text.length;
      return { line, newline: false };
    }
    const line = text.slice(index, lf);
    index = lf + 1;
    return { line, newline: true };
  };
  for (let l = readLine(); l; l = readLine()) {
    const line = l.line;
    if (line === "") continue;
    const eq = line.indexOf("=");
    const hd = line.indexOf("<<");
    if (eq >= 0 && (hd < 0 || eq < hd)) {
      out.push([line.slice(0, eq), line.slice(eq + 1)]);
    } else if (hd >= 0 && (eq < 0 || hd < eq)) {
      const key = line.slice(0, hd);
      const delim = line.slice(hd + 2);
      if (key === "" || delim === "") throw new Error(`Invalid format '${line}'. Name must not be empty and delimiter must not be empty`);
      const start = index;
      let end = index;
      for (let t = readLine(); ; t = readLine()) {
        if (!t) throw new Error(`Invalid value. Matching delimiter not found '${delim}'`);
        if (t.line === delim) break;
        if (!t.newline) throw new Error("Invalid value. EOF marker missing new line.");
        end = index - 1;
      }
      out.push([key, end > start ? text.slice(start, end) : ""]);
    } else throw new Error(`Invalid format '${line}'`);
  }
  return out;
}
