/**
 * An import plan → a TypeScript file, built with ts-morph: the `couler` import (names
 * sorted), the workflow as `export default workflow(name, () => { … }, options)`, and
 * ts-morph's formatter over the result. Expressions are printed flat when they fit in a
 * line and broken one item per line otherwise.
 *
 * ```ts
 * emitPlans([plan])[0] // { path: "etl.ts", content: 'import { runContainer, workflow } from "couler";\n…' }
 * ```
 */
import { IndentationText, Project, QuoteKind } from "ts-morph";
import type { Code, ImportPlan, Stmt } from "./plan.js";

const WIDTH = 110;
const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

export function emitPlans(plans: readonly ImportPlan[]): { path: string; content: string }[] {
  const project = new Project({
    useInMemoryFileSystem: true,
    manipulationSettings: { indentationText: IndentationText.TwoSpaces, quoteKind: QuoteKind.Double },
  });
  return plans.map((plan) => ({ path: plan.path, content: emitPlan(project, plan) }));
}

function emitPlan(project: Project, plan: ImportPlan): string {
  const sf = project.createSourceFile(`/${plan.path}`, "", { overwrite: true });
  const names = [...new Set([...plan.imports, ...plan.typeImports])].sort((a, b) => {
    const x = a.toLowerCase();
    const y = b.toLowerCase();
    return x < y ? -1 : x > y ? 1 : a < b ? -1 : a > b ? 1 : 0;
  });
  sf.addImportDeclaration({
    moduleSpecifier: "couler",
    namedImports: names.map((name) => (plan.imports.has(name) ? { name } : { name, isTypeOnly: true })),
  });
  sf.insertStatements(0, `${plan.header.map((l) => `// ${l}`).join("\n")}\n`);
  const body = stmts(plan.body, 1);
  const args = [JSON.stringify(plan.workflowName), `() => {\n${body}\n}`];
  if (plan.options) args.push(print(plan.options, 0));
  const notes = plan.notes.map((l) => `// ${l}`).join("\n");
  sf.addStatements(`\n${notes ? `${notes}\n` : ""}export default workflow(${args.join(", ")});`);
  sf.formatText({ indentSize: 2, convertTabsToSpaces: true, ensureNewLineAtEndOfFile: true });
  return sf.getFullText();
}

function pad(indent: number): string {
  return "  ".repeat(indent);
}

function stmts(list: readonly Stmt[], indent: number): string {
  return list.map((s) => stmt(s, indent)).join("\n");
}

function noteLines(notes: readonly string[] | undefined, indent: number): string {
  return notes?.length ? notes.map((n) => `${pad(indent)}// ${n}`.trimEnd()).join("\n") + "\n" : "";
}

function stmt(s: Stmt, indent: number): string {
  const p = pad(indent);
  switch (s.k) {
    case "notes":
      return noteLines(s.notes, indent).replace(/\n$/, "");
    case "expr":
      return `${noteLines(s.notes, indent)}${p}${print(s.e, indent, true)};`;
    case "const":
      return `${noteLines(s.notes, indent)}${p}const ${s.name} = ${print(s.e, indent, false, s.name.length + 9)};`;
    case "let":
      return `${p}let ${s.name}!: ${s.type};`;
    case "return":
      return `${noteLines(s.notes, indent)}${p}return ${print(s.e, indent)};`;
    case "fn": {
      const params = s.fn.params.map((x) => `${x.name}: ${x.type}`).join(", ");
      return `${p}/** ${s.fn.doc} */\n${p}function ${s.fn.name}(${params}) {\n${stmts(s.fn.body, indent + 1)}\n${p}}`;
    }
  }
}

/** A string literal; text with line breaks reads better as a template literal. */
function stringLit(v: string): string {
  if (v.includes("\n") && v.length > 40 && !/[\u0000-\u0009\u000b-\u001f\u2028\u2029]/.test(v.replace(/\r/g, ""))) {
    return `\`${tplText(v)}\``;
  }
  return JSON.stringify(v);
}

function tplText(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/`/g, "\\`").replace(/\$\{/g, "\\${").replace(/\r/g, "\\r");
}

function key(k: string): string {
  return IDENT.test(k) ? k : JSON.stringify(k);
}

/** Print an expression at `indent`; `statement`: it stands alone (an assignment needs no parentheses). */
export function print(c: Code, indent: number, statement = false, lead = 0): string {
  const flat = printFlat(c, statement);
  if (flat !== undefined && !flat.includes("\n") && pad(indent).length + lead + flat.length <= WIDTH) return flat;
  return printBroken(c, indent, statement, lead);
}

function printFlat(c: Code, statement = false): string | undefined {
  switch (c.k) {
    case "str":
      return stringLit(c.v);
    case "num":
      return String(c.v);
    case "bool":
      return String(c.v);
    case "raw":
      return c.text;
    case "tpl": {
      const parts = all(c.parts.map((p) => (typeof p === "string" ? tplText(p) : wrap("${", printFlat(p), "}"))));
      return parts && `\`${parts.join("")}\``;
    }
    case "arr":
      return wrap("[", all(c.items.map((x) => printFlat(x)))?.join(", "), "]");
    case "obj":
      return c.props.length ? wrap("{ ", all(c.props.map(([k, v]) => (shorthand(k, v) ? k : wrap(`${key(k)}: `, printFlat(v), ""))))?.join(", "), " }") : "{}";
    case "call":
      return wrap(`${c.fn}(`, all(c.args.map((x) => printFlat(x)))?.join(", "), ")");
    case "nonNull":
      return wrap("", printFlat(c.of), "!");
    case "method": {
      const of = printFlat(c.of);
      return of === undefined ? undefined : wrap(`${of}.${c.name}(`, all(c.args.map((x) => printFlat(x)))?.join(", "), ")");
    }
    case "assign":
      return statement ? wrap(`${c.name} = `, printFlat(c.value), "") : wrap(`(${c.name} = `, printFlat(c.value), ")");
    case "arrow": {
      const head = `(${c.params.join(", ")}) =>`;
      if (!isCode(c.body)) return undefined;
      const b = printFlat(c.body);
      return b === undefined ? undefined : c.body.k === "obj" ? `${head} (${b})` : `${head} ${b}`;
    }
  }
}

/** `{ stepName }` for `{ stepName: stepName }`. */
function shorthand(k: string, v: Code): boolean {
  return v.k === "raw" && v.text === k;
}

function all(list: readonly (string | undefined)[]): string[] | undefined {
  return list.every((x) => x !== undefined) ? (list as string[]) : undefined;
}

function wrap(a: string, s: string | undefined, b: string): string | undefined {
  return s === undefined ? undefined : `${a}${s}${b}`;
}

function isCode(b: readonly Stmt[] | Code): b is Code {
  return !Array.isArray(b);
}

function printBroken(c: Code, indent: number, statement = false, lead = 0): string {
  const p = pad(indent);
  const q = pad(indent + 1);
  switch (c.k) {
    case "arr":
      return `[\n${c.items.map((x) => `${q}${print(x, indent + 1)},`).join("\n")}\n${p}]`;
    case "obj":
      return `{\n${c.props.map(([k, v]) => (shorthand(k, v) ? `${q}${k},` : `${q}${key(k)}: ${print(v, indent + 1, false, key(k).length + 2)},`)).join("\n")}\n${p}}`;
    case "call": {
      const last = c.args[c.args.length - 1];
      const head = c.args.slice(0, -1).map((x) => printFlat(x));
      const headText = head.join(", ");
      // hug the last argument when it is a function, object or list and the rest is short
      if (last && ["arrow", "obj", "arr"].includes(last.k) && head.every((h) => h !== undefined && !h.includes("\n")) && headText.length < 60) {
        const before = `${c.fn}(${headText}${head.length ? ", " : ""}`;
        const printed = print(last, indent, false, lead + before.length + 1);
        // `fn(a, () =>\n  body,\n)`: the expression body went to a line of its own
        const own = last.k === "arrow" && isCode(last.body) && /=>\n/.test(printed.split("\n")[0] + "\n") && printed.split("\n")[0]!.endsWith("=>");
        return own ? `${before}${printed},\n${p})` : `${before}${printed})`;
      }
      return `${c.fn}(\n${c.args.map((x) => `${q}${print(x, indent + 1)},`).join("\n")}\n${p})`;
    }
    case "arrow": {
      const head = `(${c.params.join(", ")}) =>`;
      if (!isCode(c.body)) return `${head} {\n${stmts(c.body, indent + 1)}\n${p}}`;
      const flat = printFlat(c.body);
      if (c.body.k !== "obj" && flat !== undefined && !flat.includes("\n") && pad(indent + 1).length + flat.length <= WIDTH) return `${head}\n${q}${flat}`;
      const b = print(c.body, indent, false, lead + head.length + 1);
      return c.body.k === "obj" ? `${head} (${b})` : `${head} ${b}`;
    }
    case "nonNull":
      return `${print(c.of, indent)}!`;
    case "method": {
      const of = print(c.of, indent, false, lead);
      const last = of.split("\n").pop()!;
      const at = of.includes("\n") ? last.length - pad(indent).length : lead + last.length;
      return `${of}.${print({ k: "call", fn: c.name, args: c.args }, indent, false, at + 1)}`;
    }
    case "assign":
      return statement ? `${c.name} = ${print(c.value, indent)}` : `(${c.name} = ${print(c.value, indent)})`;
    default:
      return printFlat(c) ?? "";
  }
}
