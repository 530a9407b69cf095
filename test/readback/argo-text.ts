/**
 * Argo field text as Argo itself resolves it: literal pieces and `{{path}}` / `{{=expr}}`
 * substitutions. The expression evaluator covers exactly the subset the Argo backend emits for
 * literals that contain `{{`: expr-lang string literals and dotted/bracketed paths joined by `+`.
 * Anything else inside `{{=…}}` is an error, so a user string that turned into some other
 * expression fails loudly here instead of passing by accident.
 */

export type ArgoPart = { readonly lit: string } | { readonly path: string };

/**
 * Split a field into literal text and the paths Argo would substitute.
 *
 * ```ts
 * argoParts("a{{workflow.parameters.x}}") // [{lit:"a"}, {path:"workflow.parameters.x"}]
 * argoParts("{{='{' + '{' + inputs.parameters['y']}}") // [{lit:"{"}, {lit:"{"}, {path:"inputs.parameters.y"}]
 * ```
 */
export function argoParts(text: string): ArgoPart[] {
  const out: ArgoPart[] = [];
  let i = 0;
  let lit = "";
  while (i < text.length) {
    const at = text.indexOf("{{", i);
    if (at < 0) {
      lit += text.slice(i);
      break;
    }
    lit += text.slice(i, at);
    if (text[at + 2] === "=") {
      if (lit) out.push({ lit });
      lit = "";
      const [parts, end] = parseExpr(text, at + 3);
      out.push(...parts);
      i = end;
    } else {
      const end = text.indexOf("}}", at + 2);
      if (end < 0) throw new Error(`unclosed {{ in ${JSON.stringify(text)}`);
      if (lit) out.push({ lit });
      lit = "";
      out.push({ path: text.slice(at + 2, end).trim() });
      i = end + 2;
    }
  }
  if (lit) out.push({ lit });
  return out;
}

/** Parse `term (+ term)* }}` from `pos`; returns the parts and the index after `}}`. */
function parseExpr(text: string, pos: number): [ArgoPart[], number] {
  const out: ArgoPart[] = [];
  let i = pos;
  const ws = () => {
    while (text[i] === " ") i++;
  };
  for (;;) {
    ws();
    if (text[i] === "'") {
      i++;
      let s = "";
      while (i < text.length && text[i] !== "'") {
        if (text[i] === "\\") {
          const c = text[i + 1];
          const map: Record<string, string> = { n: "\n", r: "\r", t: "\t", "\\": "\\", "'": "'", '"': '"' };
          if (c === undefined || !(c in map)) throw new Error(`unknown escape \\${c} in ${JSON.stringify(text)}`);
          s += map[c];
          i += 2;
        } else s += text[i++];
      }
      if (text[i] !== "'") throw new Error(`unclosed string in ${JSON.stringify(text)}`);
      i++;
      out.push({ lit: s });
    } else {
      const m = /^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*|\['[^'\\]*'\])*/.exec(text.slice(i));
      if (!m) throw new Error(`unexpected expression text at ${i} in ${JSON.stringify(text)}`);
      out.push({ path: m[0].replace(/\['([^']*)'\]/g, ".$1") });
      i += m[0].length;
    }
    ws();
    if (text.startsWith("}}", i)) return [out, i + 2];
    if (text[i] !== "+") throw new Error(`unexpected ${JSON.stringify(text[i])} at ${i} in expression ${JSON.stringify(text)}`);
    i++;
  }
}

/** The text a field evaluates to, with each path shown as `{{path}}`-free marker `⟨path⟩`. */
export function argoEvaluate(text: string): string {
  return argoParts(text)
    .map((p) => ("lit" in p ? p.lit : `⟨${p.path}⟩`))
    .join("");
}

const ROOTS = new Set(["steps", "tasks", "workflow", "inputs", "item"]);

/**
 * Every reference path a field reads, also inside general `{{=…}}` expressions (conditions,
 * fan-in lists): roots `steps`, `tasks`, `workflow`, `inputs`, `item` with `.name` and
 * `['name']` segments; string literals are skipped. For reading the graph only: the text is
 * not evaluated.
 */
export function argoRefPaths(text: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < text.length) {
    const at = text.indexOf("{{", i);
    if (at < 0) break;
    const end = text.indexOf("}}", at + 2);
    if (end < 0) throw new Error(`unclosed {{ in ${JSON.stringify(text)}`);
    const tag = text.slice(at + 2, end);
    i = end + 2;
    if (!tag.startsWith("=")) {
      out.push(tag.trim());
      continue;
    }
    const e = tag.slice(1);
    let j = 0;
    while (j < e.length) {
      const c = e[j]!;
      if (c === "'" || c === '"') {
        j++;
        while (j < e.length && e[j] !== c) j += e[j] === "\\" ? 2 : 1;
        j++;
        continue;
      }
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(e.slice(j));
      if (!m) {
        j++;
        continue;
      }
      const prev = e.slice(0, j).trimEnd().slice(-1);
      if (!ROOTS.has(m[0]) || prev === ".") {
        j += m[0].length;
        continue;
      }
      const p = /^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_-]*|\['[^'\\]*'\])*/.exec(e.slice(j))!;
      out.push(p[0].replace(/\['([^']*)'\]/g, ".$1"));
      j += p[0].length;
    }
  }
  return out;
}
