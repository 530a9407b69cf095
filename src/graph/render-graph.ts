/**
 * `couler graph`: the workflow's DAG as Mermaid or Graphviz DOT text. Each step is a node
 * labelled with its name, kind and what shapes its run (map, when, a dependency
 * expression); edges are `depends` atoms, labelled with their status unless it is the
 * default `ok`; an `execWhile` body and the exit handler are subgraphs. Output is a pure
 * function of the IR (same IR, same bytes), and every user text is escaped for the format.
 */
import { depAtoms } from "../ir/graph.js";
import type { Depends, Step, WorkflowIR } from "../ir/types.js";
import { conditionText, valueText } from "../run/evaluate.js";

export type GraphFormat = "mermaid" | "dot";
export const GRAPH_FORMATS: readonly GraphFormat[] = ["mermaid", "dot"];

interface Node {
  readonly id: string;
  readonly step: Step;
  readonly lines: readonly string[];
}

interface Cluster {
  readonly id: string;
  readonly title: string;
  readonly nodes: readonly Node[];
  readonly clusters: readonly Cluster[];
  /** The while step whose body this is. */
  readonly owner?: Node;
}

interface Edge {
  readonly from: string;
  readonly to: string;
  readonly label?: string;
}

function fmtSeconds(s: number): string {
  return s % 3600 === 0 ? `${s / 3600}h` : s % 60 === 0 && s >= 60 ? `${s / 60}m` : `${s}s`;
}

function dependsText(d: Depends, top = true): string {
  switch (d.kind) {
    case "on":
      return d.status === "ok" ? d.step : `${d.step}.${d.status}`;
    case "not":
      return `!${dependsText(d.of, false)}`;
    case "and":
    case "or": {
      const t = d.of.map((x) => dependsText(x, false)).join(d.kind === "and" ? " && " : " || ");
      return top ? t : `(${t})`;
    }
  }
}

function labelLines(s: Step): string[] {
  const lines = [s.name];
  switch (s.kind) {
    case "container":
      lines.push(`container: ${s.image}`);
      break;
    case "script":
      lines.push(`script: ${s.image}`);
      break;
    case "resource":
      lines.push(`resource: ${s.action}`);
      break;
    case "templateRef":
      lines.push(`templateRef: ${s.ref.name}/${s.ref.template}`);
      break;
    case "while":
      lines.push(`while: ${conditionText(s.condition)}`);
      break;
  }
  if (s.loop) {
    const what = s.loop.kind === "items" ? `${s.loop.items.length} item${s.loop.items.length === 1 ? "" : "s"}` : `over ${valueText(s.loop.source)}`;
    lines.push(`map: ${what}${s.loop.parallelism !== undefined ? ` (${s.loop.parallelism} at once)` : ""}`);
  }
  if (s.when) lines.push(`when: ${conditionText(s.when)}`);
  // Edges show a conjunction of atoms; an expression with || or ! needs spelling out.
  if (s.depends && !(s.depends.kind === "on" || (s.depends.kind === "and" && s.depends.of.every((x) => x.kind === "on")))) {
    lines.push(`depends: ${dependsText(s.depends)}`);
  }
  const extra: string[] = [];
  if (s.retry) extra.push(`retry ${s.retry.limit}`);
  if (s.timeout !== undefined) extra.push(`timeout ${fmtSeconds(s.timeout)}`);
  if ((s.kind === "container" || s.kind === "script") && s.daemon) extra.push("daemon");
  if (extra.length) lines.push(extra.join(", "));
  return lines;
}

function build(ir: WorkflowIR): { top: Cluster[]; edges: Edge[] } {
  let n = 0;
  const edges: Edge[] = [];
  const cluster = (id: string, title: string, steps: readonly Step[], owner?: Node): Cluster => {
    const ids = new Map<string, string>();
    const nodes: Node[] = steps.map((s) => {
      const node = { id: `n${n++}`, step: s, lines: labelLines(s) };
      ids.set(s.name, node.id);
      return node;
    });
    const inner: Cluster[] = [];
    for (const node of nodes) {
      const seen = new Set<string>();
      for (const a of depAtoms(node.step.depends)) {
        const from = ids.get(a.step);
        const key = `${a.step}\u0000${a.status}`;
        if (from === undefined || seen.has(key)) continue;
        seen.add(key);
        edges.push(a.status === "ok" ? { from, to: node.id } : { from, to: node.id, label: a.status });
      }
      if (node.step.kind === "while") inner.push(cluster(`body_${node.id}`, `execWhile ${node.step.name}: body`, node.step.body, node));
    }
    return owner ? { id, title, nodes, clusters: inner, owner } : { id, title, nodes, clusters: inner };
  };
  const top = [cluster("main", "main", ir.steps)];
  if (ir.onExit?.length) top.push(cluster("on_exit", "exit handler: runs when the workflow ends", ir.onExit));
  return { top, edges };
}

// ------------------------------------------------------------------ mermaid

/** Mermaid entity codes for everything but plain characters, so no label text is read as syntax. */
function mermaidText(s: string): string {
  return s.replace(/[^A-Za-z0-9 _.,:/=+*?!'()-]/g, (c) => `#${c.codePointAt(0)};`);
}

function mermaid(ir: WorkflowIR): string {
  const { top, edges } = build(ir);
  const out = ["flowchart TD"];
  const links: string[] = [];
  const emit = (c: Cluster, depth: number, wrap: boolean) => {
    const pad = "  ".repeat(depth);
    if (wrap) out.push(`${pad}subgraph ${c.id}["${mermaidText(c.title)}"]`);
    const inner = wrap ? `${pad}  ` : pad;
    for (const node of c.nodes) {
      const label = node.lines.map(mermaidText).join("<br/>");
      out.push(node.step.kind === "while" ? `${inner}${node.id}{{"${label}"}}` : `${inner}${node.id}["${label}"]`);
    }
    for (const sub of c.clusters) {
      emit(sub, wrap ? depth + 1 : depth, true);
      links.push(`  ${sub.owner!.id} -.->|body, repeated| ${sub.id}`);
    }
    if (wrap) out.push(`${pad}end`);
  };
  // The main graph is the chart itself; the exit handler is a subgraph beside it.
  for (const c of top) emit(c, 1, c.id !== "main");
  // Edge labels are dependency statuses (identifiers), so they need no quotes.
  for (const e of edges) out.push(e.label ? `  ${e.from} -->|${mermaidText(e.label)}| ${e.to}` : `  ${e.from} --> ${e.to}`);
  out.push(...links);
  return `${out.join("\n")}\n`;
}

// ------------------------------------------------------------------ dot

function dotText(s: string): string {
  return s.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\r?\n/g, "\\n");
}

function dot(ir: WorkflowIR): string {
  const { top, edges } = build(ir);
  const out = [`digraph "${dotText(ir.name)}" {`, "  compound=true;", "  rankdir=TB;", '  node [shape=box, fontname="Helvetica"];', '  edge [fontname="Helvetica"];'];
  const links: string[] = [];
  const emit = (c: Cluster, depth: number, wrap: boolean) => {
    const pad = "  ".repeat(depth);
    if (wrap) out.push(`${pad}subgraph cluster_${c.id} {`, `${pad}  label="${dotText(c.title)}";`, `${pad}  style=dashed;`);
    const inner = wrap ? `${pad}  ` : pad;
    for (const node of c.nodes) {
      const shape = node.step.kind === "while" ? ", shape=hexagon" : node.step.loop ? ", style=\"rounded,bold\"" : "";
      out.push(`${inner}${node.id} [label="${node.lines.map(dotText).join("\\n")}"${shape}];`);
    }
    for (const sub of c.clusters) {
      emit(sub, wrap ? depth + 1 : depth, true);
      const first = sub.nodes[0];
      if (first) links.push(`  ${sub.owner!.id} -> ${first.id} [lhead=cluster_${sub.id}, style=dashed, label="body, repeated"];`);
    }
    if (wrap) out.push(`${pad}}`);
  };
  for (const c of top) emit(c, 1, c.id !== "main");
  for (const e of edges) out.push(e.label ? `  ${e.from} -> ${e.to} [label="${dotText(e.label)}"];` : `  ${e.from} -> ${e.to};`);
  out.push(...links, "}");
  return `${out.join("\n")}\n`;
}

/**
 * The DAG of `ir` as text.
 * ```ts
 * renderGraph(ir, "mermaid"); // "flowchart TD\n  n0[\"build<br/>container: alpine:3.20\"]\n…"
 * ```
 */
export function renderGraph(ir: WorkflowIR, format: GraphFormat): string {
  return format === "mermaid" ? mermaid(ir) : dot(ir);
}
