/**
 * Argo YAML read with locations: every document of every file, as plain data plus a way to
 * find the `line:col` of any field in it, so the importer's diagnostics point into the YAML.
 *
 * ```ts
 * const src = readYamlSource("flows/ci.yaml", text);
 * src.docs[0]!.locate(["spec", "templates", 2, "container"]) // { file: "flows/ci.yaml", line: 31, col: 7 }
 * ```
 */
import { isMap, isScalar, isSeq, LineCounter, parseAllDocuments, type Node } from "yaml";
import { error, type Diagnostic } from "../diagnostics.js";
import type { Loc } from "../ir/types.js";

export type Path = readonly (string | number)[];

export interface YamlDoc {
  /** The document as plain data. */
  readonly data: unknown;
  /** Index of the document in its file (0-based). */
  readonly index: number;
  /** Where `path` is (its key when it is a map entry), or the nearest existing parent. */
  locate(path: Path): Loc;
}

export interface YamlSource {
  readonly file: string;
  readonly docs: readonly YamlDoc[];
  /** Syntax errors, located; when any, `docs` is empty. */
  readonly diagnostics: readonly Diagnostic[];
}

/** Parse every document of `text`; `file` is how locations name the file. */
export function readYamlSource(file: string, text: string): YamlSource {
  const lc = new LineCounter();
  const parsed = parseAllDocuments(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number): Loc => {
    const p = lc.linePos(offset);
    return { file, line: p.line, col: p.col };
  };
  const list = Array.isArray(parsed) ? parsed : [];
  const diagnostics: Diagnostic[] = [];
  for (const d of list) {
    for (const e of d.errors) diagnostics.push(error("yaml-syntax", `invalid YAML: ${firstLine(e.message)}`, at(e.pos[0])));
  }
  if (!Array.isArray(parsed)) diagnostics.push(error("yaml-syntax", "invalid YAML stream", at(0)));
  if (diagnostics.length) return { file, docs: [], diagnostics };
  const docs: YamlDoc[] = [];
  list.forEach((d, index) => {
    if (d.contents === null) return; // an empty document (a trailing `---`)
    const root = d.contents as Node;
    docs.push({
      data: d.toJS({ maxAliasCount: 1000 }),
      index,
      locate(path: Path): Loc {
        let node: Node | undefined = root;
        let keyAt: number | undefined;
        let last = root.range?.[0] ?? 0;
        for (const seg of path) {
          if (isMap(node)) {
            const pair = node.items.find((p) => (isScalar(p.key) ? p.key.value : p.key) === seg);
            if (!pair) break;
            keyAt = isScalar(pair.key) ? pair.key.range?.[0] : undefined;
            node = (pair.value ?? undefined) as Node | undefined;
          } else if (isSeq(node) && typeof seg === "number") {
            node = node.items[seg] as Node | undefined;
            keyAt = undefined;
          } else break;
          last = keyAt ?? node?.range?.[0] ?? last;
        }
        return at(last);
      },
    });
  });
  return { file, docs, diagnostics };
}

function firstLine(s: string): string {
  return s.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "");
}
