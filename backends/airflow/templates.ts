/**
 * The Airflow backend's Handlebars templates (`*.hbs` beside this file's source) and the
 * helpers they may use. Helpers live on a private Handlebars instance, templates compile
 * with `noEscape` (HTML escaping would corrupt Python), and every user value reaches the
 * output through a literal helper: `str`/`py` (Python literals), `sh` (shell words) or
 * `ident` (identifiers we made, checked again here). Templates are read and compiled once
 * per process, on first use.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import type HandlebarsNS from "handlebars";
import { jinjaText, type JinjaPart } from "./jinja-text.js";
import { isPyIdent, pyLiteral, pyStr, type PyJson } from "./python-literals.js";
import { shQuote } from "./shell.js";

/**
 * A Python expression in the view model. `lit` and `tpl` carry user values (rendered as
 * literals); `code` is only ever text this backend wrote, with no user text in it.
 */
export type Py =
  | { readonly py: "lit"; readonly v: PyJson }
  | { readonly py: "tpl"; readonly parts: readonly JinjaPart[] }
  | { readonly py: "code"; readonly code: string }
  | { readonly py: "call"; readonly fn: string; readonly args?: readonly Py[]; readonly kwargs?: readonly (readonly [string, Py])[] }
  | { readonly py: "list"; readonly items: readonly Py[] }
  | { readonly py: "dict"; readonly entries: readonly (readonly [string, Py])[] };

export const lit = (v: PyJson): Py => ({ py: "lit", v });
export const tpl = (parts: readonly JinjaPart[]): Py => ({ py: "tpl", parts });
export const code = (c: string): Py => ({ py: "code", code: c });
export const call = (fn: string, kwargs: readonly (readonly [string, Py])[] = [], args: readonly Py[] = []): Py => ({ py: "call", fn, args, kwargs });
export const list = (items: readonly Py[]): Py => ({ py: "list", items });
export const dict = (entries: readonly (readonly [string, Py])[]): Py => ({ py: "dict", entries });

const WIDTH = 110;

function checkIdent(s: unknown): string {
  if (typeof s !== "string" || !/^[A-Za-z_][A-Za-z0-9_.]*$/.test(s) || !s.split(".").every(isPyIdent)) {
    throw new Error(`internal: ${JSON.stringify(s)} is not a safe Python name`);
  }
  return s;
}

/**
 * Python source for a view-model expression, on one line when it fits, else one element
 * per line indented below `indent`.
 *
 * @example renderPy(call("timedelta", [["seconds", lit(30)]]), 0) // => "timedelta(seconds=30)"
 */
export function renderPy(p: Py, indent: number): string {
  const flat = renderFlat(p);
  if (indent + flat.length <= WIDTH) return flat;
  const pad = " ".repeat(indent + 4);
  const end = " ".repeat(indent);
  const text = p.py === "lit" && typeof p.v === "string" ? p.v : p.py === "tpl" ? jinjaText(p.parts) : undefined;
  if (text !== undefined && text.includes("\n")) {
    // long multi-line text: one literal per line, joined by Python's implicit concatenation
    const lines = text.split(/(?<=\n)/);
    return `(\n${lines.map((l) => `${pad}${pyStr(l)}\n`).join("")}${end})`;
  }
  if (!(p.py === "list" || p.py === "dict" || p.py === "call")) return flat;
  const lines = (items: string[], open: string, close: string) =>
    items.length === 0 ? `${open}${close}` : `${open}\n${items.map((i) => `${pad}${i},\n`).join("")}${end}${close}`;
  if (p.py === "list") return lines(p.items.map((i) => renderPy(i, indent + 4)), "[", "]");
  if (p.py === "dict") return lines(p.entries.map(([k, v]) => `${pyStr(k)}: ${renderPy(v, indent + 4)}`), "{", "}");
  return lines(
    [...(p.args ?? []).map((a) => renderPy(a, indent + 4)), ...(p.kwargs ?? []).map(([k, v]) => `${checkIdent(k)}=${renderPy(v, indent + 4)}`)],
    `${checkIdent(p.fn)}(`,
    ")",
  );
}

function renderFlat(p: Py): string {
  switch (p.py) {
    case "lit":
      return pyLiteral(p.v);
    case "tpl":
      return pyStr(jinjaText(p.parts));
    case "code":
      return p.code;
    case "list":
      return `[${p.items.map(renderFlat).join(", ")}]`;
    case "dict":
      return `{${p.entries.map(([k, v]) => `${pyStr(k)}: ${renderFlat(v)}`).join(", ")}}`;
    case "call":
      return `${checkIdent(p.fn)}(${[...(p.args ?? []).map(renderFlat), ...(p.kwargs ?? []).map(([k, v]) => `${checkIdent(k)}=${renderFlat(v)}`)].join(", ")})`;
  }
}

interface Compiled {
  readonly dag: HandlebarsNS.TemplateDelegate;
  readonly step: HandlebarsNS.TemplateDelegate;
}

let compiled: Compiled | undefined;

function load(): Compiled {
  // Handlebars loads with the first Airflow compile, not with every `couler` command.
  const Handlebars = createRequire(import.meta.url)("handlebars") as typeof HandlebarsNS;
  const hb = Handlebars.create();
  hb.registerHelper("str", (v: unknown) => {
    if (typeof v !== "string") throw new Error(`internal: str helper got ${typeof v}`);
    return pyStr(v);
  });
  hb.registerHelper("py", (v: Py, indent: unknown) => renderPy(v, typeof indent === "number" ? indent : 0));
  hb.registerHelper("ident", (v: unknown) => checkIdent(v));
  hb.registerHelper("sh", (v: unknown) => {
    if (typeof v !== "string") throw new Error(`internal: sh helper got ${typeof v}`);
    return shQuote(v);
  });
  // dist/backends/airflow/templates.js → the .hbs files shipped beside the sources
  const read = (name: string) => readFileSync(new URL(`../../../backends/airflow/${name}`, import.meta.url), "utf8");
  const opts = { noEscape: true, strict: true, knownHelpersOnly: false } as const;
  return { dag: hb.compile(read("dag.py.hbs"), opts), step: hb.compile(read("step.sh.hbs"), opts) };
}

export function templates(): Compiled {
  return (compiled ??= load());
}
