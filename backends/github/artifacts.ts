/**
 * Files that move between jobs: output and input artifacts (tar packed, through
 * actions/upload-artifact and download-artifact), memoization through actions/cache, and the
 * fan-in collector job that turns each matrix instance's outputs into JSON lists.
 */
import { property, templateText, wrap } from "./expressions.js";
import { ACTIONS, type Host, type JobPlan, type Json, type PodStep } from "./host.js";
import { ARTIFACT_KEY } from "./names.js";
import { plainWord } from "./shell.js";

/**
 * The cache key is hashed in the job (the key may hold commas or be long, which
 * actions/cache refuses), then the entry is restored into `$RUNNER_TEMP/couler-cache`.
 */
export function cacheRestoreSteps(h: Host, s: PodStep): Json[] {
  const c = s.cache!;
  if (c.maxAge !== undefined) {
    h.warn("approximated", `step "${s.name}": actions/cache entries have no maximum age (GitHub evicts entries unused for 7 days); maxAge is not written`, s.loc);
  }
  if (s.outputArtifacts?.length) {
    h.error("unsupported", `step "${s.name}" is memoized and leaves output artifacts, which a cache hit would not produce`, s.loc);
  }
  const name = ARTIFACT_KEY.fix(c.name);
  return [
    {
      id: "cache-key",
      name: "cache key",
      env: { COULER_CACHE_KEY: h.template(c.key, s) },
      shell: "sh",
      run: `printf 'hash=%s\\n' "$(printf '%s' "$COULER_CACHE_KEY" | sha256sum | cut -d ' ' -f 1)" >> "$GITHUB_OUTPUT"\n`,
    },
    {
      id: "cache",
      name: "restore cached outputs",
      uses: ACTIONS.cacheRestore,
      with: { path: `${wrap("runner.temp")}/couler-cache`, key: `couler-${name}-${wrap("steps.cache-key.outputs.hash")}` },
    },
  ];
}

export function cacheSaveSteps(h: Host, s: PodStep, outputs: { key: string; path: string }[]): Json[] {
  const env: Json = {};
  const lines = ['mkdir -p "$RUNNER_TEMP/couler-cache"'];
  outputs.forEach((o, i) => {
    let file: string;
    if (o.path === "") file = '"$RUNNER_TEMP/couler-stdout"';
    else if (plainWord(o.path, false)) file = o.path;
    else {
      env[`COULER_OUTPUT_${i}`] = templateText(o.path);
      file = `"$COULER_OUTPUT_${i}"`;
    }
    lines.push(`cp ${file} "$RUNNER_TEMP/couler-cache/${o.key}"`);
  });
  if (outputs.length === 0) lines.push('touch "$RUNNER_TEMP/couler-cache/done"');
  const keep: Json = { name: "keep outputs for the cache" };
  if (Object.keys(env).length) keep.env = env;
  keep.shell = "sh";
  keep.run = `${lines.join("\n")}\n`;
  const name = ARTIFACT_KEY.fix(s.cache!.name);
  return [
    keep,
    {
      name: "save cached outputs",
      uses: ACTIONS.cacheSave,
      with: { path: `${wrap("runner.temp")}/couler-cache`, key: `couler-${name}-${wrap("steps.cache-key.outputs.hash")}` },
    },
  ];
}

/**
 * Artifacts travel as a tar file (GitHub's artifact zip loses file modes) plus a note of
 * whether the path was a file or a folder, so the reader can place it at its own path.
 */
export function outputArtifactSteps(h: Host, s: PodStep, plan: JobPlan): Json[] {
  const out: Json[] = [];
  for (const a of s.outputArtifacts ?? []) {
    if (a.store) continue;
    if (s.loop) {
      h.error("unsupported", `step "${s.name}" is fanned out, so its artifact "${a.name}" would be written once per instance under one name`, a.loc);
      continue;
    }
    const key = artifactKey(h, a.name);
    const dir = `"$RUNNER_TEMP/couler-artifact/${key}"`;
    out.push({
      name: `pack artifact ${templateText(a.name)}`,
      env: { COULER_PATH: templateText(a.path) },
      shell: "sh",
      run: [
        `rm -rf ${dir}`,
        `mkdir -p ${dir}`,
        'if [ -d "$COULER_PATH" ]; then',
        `  echo dir > ${dir}/kind`,
        `  tar -cf ${dir}/payload.tar -C "$COULER_PATH" .`,
        'elif [ -e "$COULER_PATH" ]; then',
        `  echo file > ${dir}/kind`,
        `  tar -cf ${dir}/payload.tar -C "$(dirname "$COULER_PATH")" "$(basename "$COULER_PATH")"`,
        `  basename "$COULER_PATH" > ${dir}/name`,
        'else echo "couler: artifact path $COULER_PATH does not exist" >&2; exit 1',
        "fi",
        "",
      ].join("\n"),
    });
    out.push({
      name: `upload artifact ${templateText(a.name)}`,
      uses: ACTIONS.upload,
      with: { name: `${plan.id}.${key}`, path: `${wrap("runner.temp")}/couler-artifact/${key}`, "if-no-files-found": "error", overwrite: true },
    });
  }
  return out;
}

export function inputArtifactSteps(h: Host, s: PodStep): Json[] {
  const out: Json[] = [];
  (s.inputArtifacts ?? []).forEach((a, i) => {
    if (a.from.kind !== "step") return;
    const from = h.plans.get(a.from.step);
    if (!from) return;
    if (from.step.loop) {
      h.error("unsupported", `step "${s.name}" reads artifact "${a.from.artifact}" of fanned-out step "${a.from.step}"`, a.loc);
      return;
    }
    const key = artifactKey(h, a.from.artifact);
    const dir = `"$RUNNER_TEMP/couler-input/${i}"`;
    out.push({
      name: `download artifact ${templateText(a.name)}`,
      uses: ACTIONS.download,
      with: { name: `${from.id}.${key}`, path: `${wrap("runner.temp")}/couler-input/${i}` },
    });
    out.push({
      name: `place artifact ${templateText(a.name)}`,
      env: { COULER_PATH: templateText(a.path) },
      shell: "sh",
      run: [
        `if [ "$(cat ${dir}/kind)" = dir ]; then`,
        '  mkdir -p "$COULER_PATH"',
        `  tar -xf ${dir}/payload.tar -C "$COULER_PATH"`,
        "else",
        '  mkdir -p "$(dirname "$COULER_PATH")"',
        `  mkdir -p ${dir}/unpacked`,
        `  tar -xf ${dir}/payload.tar -C ${dir}/unpacked`,
        `  mv ${dir}/unpacked/"$(cat ${dir}/name)" "$COULER_PATH"`,
        "fi",
        "",
      ].join("\n"),
    });
  });
  return out;
}

export function artifactKey(h: Host, name: string): string {
  const m = ARTIFACT_KEY.valid.test(name) && name.length <= ARTIFACT_KEY.maxLength ? name : ARTIFACT_KEY.fix(name);
  return m;
}

/**
 * The fan-in job: downloads every instance's outputs and publishes each as a JSON list in
 * instance order. It runs on the runner itself with actions/github-script, so it needs no
 * JSON tool in any image.
 */
export function collectorJob(h: Host, plan: JobPlan): Json {
  const s = plan.step as PodStep;
  const keys: string[] = [];
  if (h.resultRead.has(s.name)) keys.push("result");
  for (const o of s.outputs ?? []) keys.push(plan.keys.get(o.name)!);
  const outputs: Json = {};
  for (const k of keys) outputs[k] = wrap(`steps.collect.outputs.${k}`);
  const r = property("needs", plan.id, "result");
  return {
    needs: [plan.id],
    // an exit handler's fan-in still runs when the run was cancelled, like the handler itself
    // also after a skipped fan-out (an empty run-time list): its readers get `[]`, as in the IR
    if: wrap(`${plan.scope === "onExit" ? "always()" : "!cancelled()"} && (${r} == 'success' || ${r} == 'skipped')`),
    "runs-on": h.runsOn,
    outputs,
    steps: [
      {
        name: "download instance outputs",
        uses: ACTIONS.download,
        with: { pattern: `couler-fanin-${plan.id}-*`, path: `${wrap("runner.temp")}/couler-fanin`, "merge-multiple": true },
      },
      {
        id: "collect",
        name: "collect outputs",
        uses: ACTIONS.script,
        env: { COULER_DIR: `${wrap("runner.temp")}/couler-fanin`, COULER_KEYS: keys.join(" ") },
        with: {
          script: [
            "const fs = require('fs');",
            "const path = require('path');",
            "const dir = process.env.COULER_DIR;",
            "const instances = fs.existsSync(dir) ? fs.readdirSync(dir).filter((d) => /^[0-9]+$/.test(d)).sort((a, b) => a - b) : [];",
            "for (const key of process.env.COULER_KEYS.split(' ')) {",
            "  const values = [];",
            "  for (const i of instances) {",
            "    const file = path.join(dir, i, key);",
            "    if (fs.existsSync(file)) values.push(fs.readFileSync(file, 'utf8').replace(/\\n$/, ''));",
            "  }",
            "  core.setOutput(key, JSON.stringify(values));",
            "}",
            "",
          ].join("\n"),
        },
      },
    ],
  };
}
