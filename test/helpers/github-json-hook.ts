/**
 * A module `load` hook for the GitHub workflow parser: on Node 20 it imports its schema
 * JSON without an import attribute (actions/languageservices#387), which Node refuses.
 * Adding `type: "json"` to such imports is all it takes. Registered only in the child
 * process that runs the parser (see github-parser.ts), never in the test runner itself.
 */
interface LoadContext {
  readonly format?: string;
  readonly importAttributes?: Record<string, string>;
}
type NextLoad = (url: string, context: LoadContext) => Promise<unknown>;

export async function load(url: string, context: LoadContext, nextLoad: NextLoad): Promise<unknown> {
  if (url.endsWith(".json") && context.importAttributes?.type !== "json") {
    return nextLoad(url, { ...context, importAttributes: { ...context.importAttributes, type: "json" } });
  }
  return nextLoad(url, context);
}
