/**
 * The steps of a job that run the user's program and publish its outputs: the `run:` step
 * (the command line, a script's source, stdout capture, the emulated retry loop) and the step
 * that writes outputs to `$GITHUB_OUTPUT` (or, for a fan-in, to files). See shell.ts for the
 * rules that keep user text out of the scripts.
 */
import type { Value } from "../../src/ir/types.js";
import { property, templateText, wrap } from "./expressions.js";
import type { Host, Json, PodStep } from "./host.js";
import { sortEnv } from "./docker.js";
import { EMIT_HEX_FN, EMIT_OUTPUT_FN, heredocDelimiter, plainWord } from "./shell.js";

/** The step that runs the user's program. */
export function runStep(h: Host, s: PodStep): Json {
  const env: Json = {};
  const owners = new Map<string, string>();
  const setEnv = (name: string, value: string, what: string) => {
    const clash = owners.get(name);
    if (clash !== undefined) h.error("name-collision", `step "${s.name}": env var ${name} is set by both ${clash} and ${what}`, s.loc);
    owners.set(name, what);
    env[name] = value;
  };
  for (const e of s.env ?? []) setEnv(e.name, h.template(e.value, s), "the step's env");
  for (const e of s.secretEnv ?? []) setEnv(e.name, wrap(property("secrets", h.secretName(e.secret, e.key, s.loc))), `secret "${e.secret}"`);

  const word = (v: Value | string, i: number | string, first: boolean): string => {
    if (typeof v === "string" && plainWord(v, first)) return v;
    const name = typeof i === "number" ? `COULER_ARG_${i}` : i;
    setEnv(name, typeof v === "string" ? templateText(v) : h.template(v, s), "the generated command line");
    return `"$${name}"`;
  };

  const capture = h.resultRead.has(s.name);
  const retry = s.retry;
  const command = s.command ?? [];
  if (s.kind === "container" && command.length === 0) {
    h.error(
      "missing-command",
      `step "${s.name}" has no command: a GitHub job container never runs the image's entrypoint, so give the command explicitly`,
      s.loc,
    );
  }
  // The plain form: the runner itself runs the source with the interpreter.
  const hasOpen = s.kind === "script" && s.source.includes("${{");
  if (s.kind === "script" && !hasOpen && !s.args?.length && !capture && !retry && s.workingDir === undefined && command.length > 0) {
    const words = command.filter((c): c is string => typeof c === "string");
    if (words.length === command.length && words.every((w, i) => plainWord(w, i === 0))) {
      const shell = words.length === 1 && words[0] === "python" ? "python" : `${words.join(" ")} {0}`;
      const st: Json = { id: "run", name: templateText(s.name) };
      if (Object.keys(env).length) st.env = env;
      st.shell = shell;
      st.run = templateText(s.source);
      return st;
    }
  }

  const lines: string[] = [];
  if (s.workingDir !== undefined) {
    const w = word(s.workingDir, "COULER_WORKDIR", false);
    lines.push(`mkdir -p ${w}`, `cd ${w}`);
  }
  const argv: string[] = [];
  command.forEach((c, i) => argv.push(word(c, i, i === 0)));
  if (s.kind === "script") {
    if (hasOpen) {
      // A run text holding `${{` becomes one GitHub expression, capped at 21000 characters;
      // base64 text holds no `$`, so the source travels encoded (the delimiter has `_`, which base64 never uses).
      const b64 = Buffer.from(s.source, "utf8").toString("base64").match(/.{1,76}/g) ?? [];
      lines.push(`base64 -d > "$RUNNER_TEMP/couler-script" <<'COULER_SCRIPT_EOF'`, ...b64, "COULER_SCRIPT_EOF");
    } else {
      const delim = heredocDelimiter(s.source);
      lines.push(`cat > "$RUNNER_TEMP/couler-script" <<'${delim}'`, ...s.source.replace(/\n$/, "").split("\n"), delim);
    }
    argv.push('"$RUNNER_TEMP/couler-script"');
  }
  (s.args ?? []).forEach((a, i) => argv.push(word(a, command.length + i + (s.kind === "script" ? 1 : 0), argv.length === 0)));
  const invocation = argv.join(" ");
  if (!capture && !retry) lines.push(invocation);
  else {
    lines.push("couler_main() {", `  ${invocation}`, "}");
    let attempt = "couler_main";
    if (capture) {
      attempt = "couler_attempt";
      lines.push(
        "couler_attempt() {",
        '  rm -f "$RUNNER_TEMP/couler-rc"',
        '  { couler_main || echo "$?" > "$RUNNER_TEMP/couler-rc"; } | tee "$RUNNER_TEMP/couler-stdout"',
        '  if [ -f "$RUNNER_TEMP/couler-rc" ]; then return "$(cat "$RUNNER_TEMP/couler-rc")"; fi',
        "}",
      );
    }
    if (retry) {
      const b = retry.backoff;
      if (b?.factor !== undefined && !Number.isInteger(b.factor)) {
        h.error("unsupported", `step "${s.name}": retry backoff factor ${b.factor} is not a whole number, which the emulated retry loop needs`, s.loc);
      }
      const delay = b ? Math.ceil(b.duration) : 0;
      const max = b?.maxDuration !== undefined ? Math.ceil(b.maxDuration) : undefined;
      if (max !== undefined) {
        h.warn(
          "approximated",
          `step "${s.name}": the retry window (maxDuration ${b!.maxDuration}s from the first attempt's start) is measured in whole seconds by the emulated retry loop`,
          s.loc,
        );
      }
      lines.push(
        ...(max !== undefined ? ["couler_start=$(date +%s)"] : []),
        "couler_try=0",
        `couler_delay=${delay}`,
        "while :; do",
        "  couler_rc=0",
        `  ${attempt} || couler_rc=$?`,
        '  if [ "$couler_rc" -eq 0 ]; then break; fi',
        "  couler_try=$((couler_try + 1))",
        `  if [ "$couler_try" -gt ${retry.limit} ]; then exit "$couler_rc"; fi`,
      );
      if (max !== undefined) {
        // maxDuration is the whole retry window, from the first attempt's start (the IR's and
        // Argo's meaning): no retry starts once it would begin past the window.
        lines.push(
          `  if [ $(($(date +%s) - couler_start + couler_delay)) -gt ${max} ]; then`,
          `    echo "couler: attempt $couler_try failed with exit code $couler_rc; no more retries: the backoff maxDuration of ${max}s was reached" >&2`,
          '    exit "$couler_rc"',
          "  fi",
        );
      }
      lines.push(
        `  echo "couler: attempt $couler_try of ${retry.limit + 1} failed with exit code $couler_rc; retrying in \${couler_delay}s" >&2`,
        '  sleep "$couler_delay"',
      );
      if (b?.factor !== undefined) lines.push(`  couler_delay=$((couler_delay * ${Math.round(b.factor)}))`);
      lines.push("done");
    } else lines.push(attempt);
  }
  const st: Json = { id: "run", name: templateText(s.name) };
  if (Object.keys(env).length) st.env = sortEnv(env);
  st.shell = "sh";
  st.run = templateText(`${lines.join("\n")}\n`);
  return st;
}

/** Writes outputs to `$GITHUB_OUTPUT`, or, in a matrix job feeding a fan-in, to files for the collector. */
export function outputsStep(h: Host, outputs: { key: string; path: string; hex?: string }[], fanIn: boolean): Json {
  const env: Json = {};
  const lines: string[] = [];
  if (fanIn) {
    env.COULER_INDEX = wrap("strategy.job-index");
    lines.push(
      "couler_output() {",
      '  if [ ! -f "$2" ]; then echo "couler: output $1: no file $2" >&2; exit 1; fi',
      '  mkdir -p "$RUNNER_TEMP/couler-fanin/$COULER_INDEX"',
      '  cp "$2" "$RUNNER_TEMP/couler-fanin/$COULER_INDEX/$1"',
      "}",
    );
  } else {
    lines.push(...EMIT_OUTPUT_FN);
    if (outputs.some((o) => o.hex)) lines.push(...EMIT_HEX_FN);
  }
  outputs.forEach((o, i) => {
    let file: string;
    if (o.path === "") file = '"$RUNNER_TEMP/couler-stdout"';
    else if (o.path.startsWith("$RUNNER_TEMP/")) file = `"${o.path}"`;
    else if (plainWord(o.path, false)) file = o.path;
    else {
      env[`COULER_OUTPUT_${i}`] = templateText(o.path);
      file = `"$COULER_OUTPUT_${i}"`;
    }
    lines.push(`couler_output ${o.key} ${file}`);
    if (o.hex && !fanIn) lines.push(`couler_hex ${o.hex} ${file}`);
  });
  const st: Json = { id: "outputs", name: "outputs" };
  if (Object.keys(env).length) st.env = env;
  st.shell = "sh";
  st.run = `${lines.join("\n")}\n`;
  return st;
}
