/** The input parameters of a step's own template: the step-context references (other steps' values, map items) its graph template passes in. */
import { valuesOfStep } from "../../src/ir/graph.js";
import type { Ref, Step, Value } from "../../src/ir/types.js";

export /** A leaf template's input parameter standing for a reference made in the graph template. */
interface Input {
  readonly name: string;
  readonly ref: Ref;
  readonly key: string;
}

/** Step-context references (outputs of other steps, map items) a step's template receives as inputs. */
export function inputsOf(s: Step, nameOf: (step: string) => string): Input[] {
  const seen = new Map<string, Input>();
  const used = new Set<string>();
  const visit = (v: Value) => {
    const refs = typeof v === "string" ? [] : v.kind === "concat" ? v.parts.filter((p): p is Ref => typeof p !== "string") : [v];
    for (const r of refs) {
      if (r.kind !== "result" && r.kind !== "output" && r.kind !== "item") continue;
      const key = JSON.stringify(r);
      if (seen.has(key)) continue;
      const base =
        r.kind === "item"
          ? ["item", r.index !== undefined ? `v${r.index}` : undefined, r.field].filter((x) => x !== undefined).join("-")
          : `${nameOf(r.step)}-${r.kind === "result" ? "result" : r.output}`;
      let name = base.replace(/[^-a-zA-Z0-9_]/g, "-");
      for (let i = 2; used.has(name); i++) name = `${base}-${i}`;
      used.add(name);
      seen.set(key, { name, ref: r, key });
    }
  };
  for (const v of valuesOfStep(s)) visit(v);
  return [...seen.values()];
}
