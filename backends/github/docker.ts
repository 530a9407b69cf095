/**
 * The job container and runner: docker options for resource limits, `runs-on` labels, and the
 * order of a step's env.
 */
import { templateText } from "./expressions.js";
import type { Host, Json, PodStep } from "./host.js";

export function container(h: Host, s: PodStep): Json {
  const c: Json = { image: templateText(s.image) };
  const options: string[] = [];
  const r = s.resources;
  if (r?.limits) {
    for (const [k, q] of Object.entries(r.limits).sort(([a], [b]) => a.localeCompare(b))) {
      const v = k === "cpu" ? dockerCpus(q) : k === "memory" ? dockerBytes(q) : undefined;
      if (v === undefined) h.warn("dropped", `step "${s.name}": resource limit ${k}=${q} has no docker equivalent and is not written`, s.loc);
      else options.push(k === "cpu" ? `--cpus ${v}` : `--memory ${v}`);
    }
  }
  if (r?.requests && Object.keys(r.requests).length) {
    h.warn(
      "dropped",
      `step "${s.name}": resource requests (${Object.keys(r.requests).sort().join(", ")}) are not written: a GitHub runner has a fixed size; pick one with --github-runs-on`,
      s.loc,
    );
  }
  if (options.length) c.options = options.join(" ");
  if (s.imagePullPolicy === "Never") {
    h.warn("approximated", `step "${s.name}": GitHub always pulls a job container's image; imagePullPolicy Never is not honoured`, s.loc);
  }
  return c;
}

/** Kubernetes CPU quantity → docker `--cpus` value, or undefined when unreadable. */
function dockerCpus(q: string): string | undefined {
  const m = /^(\d+(?:\.\d+)?)(m?)$/.exec(q);
  if (!m) return undefined;
  const v = m[2] === "m" ? Number(m[1]) / 1000 : Number(m[1]);
  return v > 0 ? String(Number(v.toFixed(3))) : undefined;
}

/** Kubernetes memory quantity → bytes for docker `--memory`, or undefined when unreadable. */
function dockerBytes(q: string): string | undefined {
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|K|M|G|T)?$/.exec(q);
  if (!m) return undefined;
  const unit: Record<string, number> = { "": 1, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4, k: 1e3, K: 1e3, M: 1e6, G: 1e9, T: 1e12 };
  const v = Math.ceil(Number(m[1]) * unit[m[2] ?? ""]!);
  return v > 0 ? String(v) : undefined;
}

/** User env first in IR order is kept; generated COULER_ vars go last, in index order. */
export function sortEnv(env: Json): Json {
  const user = Object.keys(env).filter((k) => !k.startsWith("COULER_"));
  const gen = Object.keys(env)
    .filter((k) => k.startsWith("COULER_"))
    .sort((a, b) => Number(a.replace(/\D+/g, "")) - Number(b.replace(/\D+/g, "")) || a.localeCompare(b));
  return Object.fromEntries([...user, ...gen].map((k) => [k, env[k]]));
}

/** `runs-on` for a list of labels: a string for one, a list for several. */
export function runnerValue(labels: readonly string[]): string | string[] {
  return labels.length === 1 ? templateText(labels[0]!) : labels.map(templateText);
}
