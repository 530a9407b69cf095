/**
 * `runScript({ source: () => { ... } })`: the function's body becomes the script, the way
 * Couler takes a Python function. We read the function's run-time text (already plain
 * JavaScript: the loader stripped the types) and let the TypeScript parser find the body,
 * so default parameters, strings and comments containing braces cannot confuse it.
 * TypeScript is loaded only when a workflow uses a function source.
 */
import { createRequire } from "node:module";

type TS = typeof import("typescript");
let ts: TS | undefined;
function typescript(): TS {
  ts ??= createRequire(import.meta.url)("typescript") as TS;
  return ts;
}

/** The body of `fn` as script text, dedented; throws with a reason when it has none. */
export function functionBody(fn: Function): string {
  const text = Function.prototype.toString.call(fn);
  if (text.includes("[native code]")) throw new Error("a native or bound function has no source to run");
  const t = typescript();
  // Wrap so that method shorthand (`name() {}`) and plain functions parse as expressions.
  const candidates = [`(${text})`, `({ ${text} })`];
  for (const wrapped of candidates) {
    const sf = t.createSourceFile("fn.js", wrapped, t.ScriptTarget.Latest, true, t.ScriptKind.JS);
    const body = findBody(t, sf);
    if (body === undefined) continue;
    if (t.isBlock(body)) {
      const inner = wrapped.slice(body.getStart(sf) + 1, body.getEnd() - 1);
      return dedent(inner);
    }
    return dedent(wrapped.slice(body.getStart(sf), body.getEnd()));
  }
  throw new Error("could not find the function's body");
}

function findBody(t: TS, sf: import("typescript").SourceFile): import("typescript").Node | undefined {
  let found: import("typescript").Node | undefined;
  const visit = (n: import("typescript").Node) => {
    if (found) return;
    if (
      (t.isArrowFunction(n) || t.isFunctionExpression(n) || t.isMethodDeclaration(n) || t.isFunctionDeclaration(n)) &&
      n.body
    ) {
      found = n.body;
      return;
    }
    t.forEachChild(n, visit);
  };
  visit(sf);
  if (sf.parseDiagnostics?.length) return undefined;
  return found;
}

/** Remove the common indentation and the blank first/last lines. */
export function dedent(text: string): string {
  const lines = text.replace(/\r\n?/g, "\n").split("\n");
  while (lines.length && lines[0]!.trim() === "") lines.shift();
  while (lines.length && lines[lines.length - 1]!.trim() === "") lines.pop();
  let indent = Infinity;
  for (const l of lines) {
    if (l.trim() === "") continue;
    indent = Math.min(indent, l.length - l.trimStart().length);
  }
  if (!Number.isFinite(indent)) indent = 0;
  return lines.map((l) => l.slice(Math.min(indent, l.length - l.trimStart().length))).join("\n") + "\n";
}

declare module "typescript" {
  interface SourceFile {
    readonly parseDiagnostics?: readonly unknown[];
  }
}
