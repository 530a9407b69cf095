/**
 * YAML that a YAML 1.1 reader (Kubernetes, so Argo and Tekton) and a YAML 1.2 reader see
 * identically: every string that either version would read as a bool, null, number or
 * timestamp when plain (`yes`, `on`, `~`, `0123`, `1_000`, `0o17`, `1e3`...) is quoted.
 */
import { Document, Scalar, visit } from "yaml";

const STR = "tag:yaml.org,2002:str";

function implicitTests(version: "1.1" | "1.2"): RegExp[] {
  const d = new Document({}, { version });
  return d.schema.tags
    .filter((t) => t.tag !== STR && t.default === true && t.test instanceof RegExp)
    .map((t) => t.test as RegExp);
}

const TESTS = [...implicitTests("1.1"), ...implicitTests("1.2")];

/** Would this string, written plain, mean something other than a string to some reader? */
export function needsQuotes(s: string): boolean {
  return TESTS.some((re) => re.test(s)) || s === "<<" || s === "=";
}

/** Serialise `value` (plain JSON data) as one YAML document. */
export function toYaml(value: unknown): string {
  const doc = new Document(value, { version: "1.1" });
  visit(doc, {
    Scalar(_key, node: Scalar) {
      if (typeof node.value === "string" && needsQuotes(node.value)) node.type = Scalar.QUOTE_DOUBLE;
    },
  });
  return doc.toString({ lineWidth: 0, minContentWidth: 0 });
}

/** Several documents separated by `---`. */
export function toYamlDocuments(values: readonly unknown[]): string {
  return values.map((v) => toYaml(v)).join("---\n");
}
