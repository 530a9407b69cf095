/**
 * What a local run takes from outside the workflow: parameter values (`--param k=v`) and
 * secret values (a secrets file or the environment). Secret values are only ever handed
 * to the steps that read them and to the `Masker`; they are never printed.
 */
import { readFileSync } from "node:fs";
import { suggest } from "../diagnostics.js";
import { allSteps, isPodStep } from "../ir/graph.js";
import type { WorkflowIR } from "../ir/types.js";

/** A problem with what the user passed: the CLI reports it as a usage error (exit 2). */
export class RunInputError extends Error {
  override name = "RunInputError";
}

/**
 * Parameter values: defaults, overridden by `given`. Unknown names and missing values of
 * parameters without a default are errors.
 * ```ts
 * resolveParams(ir, { day: "2024-02-01" }); // { day: "2024-02-01", threshold: "0.9" }
 * ```
 */
export function resolveParams(ir: WorkflowIR, given: Readonly<Record<string, string>>): Record<string, string> {
  const known = ir.params.map((p) => p.name);
  const problems: string[] = [];
  for (const k of Object.keys(given)) {
    if (!known.includes(k)) {
      problems.push(`workflow "${ir.name}" has no parameter "${k}"${suggest(k, known)}${known.length ? `; parameters: ${known.join(", ")}` : ""}`);
    }
  }
  const out: Record<string, string> = {};
  for (const p of ir.params) {
    const v = given[p.name] ?? p.default;
    if (v === undefined) problems.push(`parameter "${p.name}" has no default: pass --param ${p.name}=<value>`);
    else out[p.name] = v;
  }
  if (problems.length) throw new RunInputError(problems.join("\n"));
  return out;
}

/** `k=v` items into a record; a repeated key keeps the last value. */
export function parseParamFlags(items: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of items) {
    const eq = item.indexOf("=");
    if (eq <= 0) throw new RunInputError(`--param expects name=value, got "${item}"`);
    out[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return out;
}

/** secret name → key → value. */
export type SecretValues = Readonly<Record<string, Readonly<Record<string, string>>>>;

/**
 * Read a secrets file: JSON `{ "db": { "password": "..." } }`, or dotenv lines where a
 * name is either `secret.key` (one key of one secret) or a bare key (that key of any secret).
 * Bare keys are returned under the secret name `*`.
 */
export function readSecretsFile(path: string): SecretValues {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new RunInputError(`cannot read secrets file ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  if (/^\s*\{/.test(text)) {
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch (e) {
      throw new RunInputError(`secrets file ${path} is not valid JSON: ${(e as Error).message}`);
    }
    const out: Record<string, Record<string, string>> = {};
    for (const [secret, keys] of Object.entries(data as Record<string, unknown>)) {
      if (keys === null || typeof keys !== "object" || Array.isArray(keys)) {
        throw new RunInputError(`secrets file ${path}: "${secret}" must be an object of key: value`);
      }
      out[secret] = {};
      for (const [k, v] of Object.entries(keys)) {
        if (typeof v !== "string" && typeof v !== "number" && typeof v !== "boolean") {
          throw new RunInputError(`secrets file ${path}: ${secret}.${k} must be a string`);
        }
        out[secret][k] = String(v);
      }
    }
    return out;
  }
  const out: Record<string, Record<string, string>> = {};
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    const m = /^(?:export\s+)?([^=\s]+)\s*=\s*(.*)$/.exec(line);
    if (!m) throw new RunInputError(`secrets file ${path}:${i + 1}: expected NAME=value`);
    let value = m[2]!;
    const q = value[0];
    if ((q === '"' || q === "'") && value.length >= 2 && value.endsWith(q)) {
      value = value.slice(1, -1);
      if (q === '"') value = value.replace(/\\n/g, "\n").replace(/\\(["\\])/g, "$1");
    }
    const name = m[1]!;
    const dot = name.indexOf(".");
    const secret = dot > 0 ? name.slice(0, dot) : "*";
    const key = dot > 0 ? name.slice(dot + 1) : name;
    (out[secret] ??= {})[key] = value;
  });
  return out;
}

/** The environment variable a secret key may also come from: `COULER_SECRET_<SECRET>_<KEY>`, upper-cased, other characters as `_`. */
export function secretEnvName(secret: string, key: string): string {
  return `COULER_SECRET_${secret}_${key}`.toUpperCase().replace(/[^A-Z0-9_]/g, "_");
}

export interface SecretLookup {
  /** Value of `secret`/`key` for a step env var named `envName`; undefined when nowhere to be found. */
  get(secret: string, key: string, envName: string): string | undefined;
  /** Every value handed out so far, for masking. */
  readonly used: ReadonlySet<string>;
}

/**
 * Where secret values come from, in order: the secrets file (`secret.key`, then a bare
 * `key`), the environment variable `COULER_SECRET_<SECRET>_<KEY>`, then the environment
 * variable with the step's env var name.
 */
export function secretLookup(file: SecretValues | undefined, env: Readonly<Record<string, string | undefined>>): SecretLookup {
  const used = new Set<string>();
  return {
    used,
    get(secret, key, envName) {
      const v = file?.[secret]?.[key] ?? file?.["*"]?.[key] ?? env[secretEnvName(secret, key)] ?? env[envName];
      if (v !== undefined && v !== "") used.add(v);
      return v;
    },
  };
}

/** Secret keys the workflow's steps read that `lookup` cannot provide, as `secret.key (ENV)` text. */
export function missingSecrets(ir: WorkflowIR, lookup: SecretLookup): string[] {
  const out = new Set<string>();
  for (const s of allSteps(ir)) {
    if (!isPodStep(s)) continue;
    for (const e of s.secretEnv ?? []) {
      if (lookup.get(e.secret, e.key, e.name) === undefined) {
        out.add(`${e.secret}.${e.key} (for env var ${e.name} of step "${s.name}"; or set ${secretEnvName(e.secret, e.key)} or ${e.name})`);
      }
    }
  }
  return [...out];
}

/** Replace every secret value in `text` with `***`, longest first so one secret inside another is fully hidden. */
export function maskSecrets(text: string, secrets: ReadonlySet<string>): string {
  if (secrets.size === 0 || text === "") return text;
  let out = text;
  for (const s of [...secrets].sort((a, b) => b.length - a.length)) out = out.split(s).join("***");
  return out;
}
