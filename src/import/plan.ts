/**
 * The import plan: what `couler import` will write for one Argo workflow, as a small code
 * tree (expressions and statements of the DSL) that `emit-ts.ts` prints with ts-morph.
 * The planner (`argo-plan.ts`) decides the DSL constructs; the emitter only prints.
 */

/** An expression of the generated program. */
export type Code =
  | { readonly k: "str"; readonly v: string }
  | { readonly k: "num"; readonly v: number }
  | { readonly k: "bool"; readonly v: boolean }
  /** A template literal: text and `${expr}` parts. */
  | { readonly k: "tpl"; readonly parts: readonly (string | Code)[] }
  /** Expression text as is: an identifier, `flip.result`, `WFStatus.Failed`. */
  | { readonly k: "raw"; readonly text: string }
  | { readonly k: "arr"; readonly items: readonly Code[] }
  | { readonly k: "obj"; readonly props: readonly (readonly [string, Code])[] }
  | { readonly k: "call"; readonly fn: string; readonly args: readonly Code[] }
  | { readonly k: "arrow"; readonly params: readonly string[]; readonly body: readonly Stmt[] | Code }
  /** `of.name(args)` */
  | { readonly k: "method"; readonly of: Code; readonly name: string; readonly args: readonly Code[] }
  /** `x!` */
  | { readonly k: "nonNull"; readonly of: Code }
  /** `(name = value)` */
  | { readonly k: "assign"; readonly name: string; readonly value: Code };

/** A statement; `notes` are `// couler import:` comment lines printed before it. */
export type Stmt =
  | { readonly k: "expr"; readonly e: Code; readonly notes?: readonly string[] }
  | { readonly k: "const"; readonly name: string; readonly e: Code; readonly notes?: readonly string[] }
  | { readonly k: "let"; readonly name: string; readonly type: string }
  | { readonly k: "return"; readonly e: Code; readonly notes?: readonly string[] }
  | { readonly k: "notes"; readonly notes: readonly string[] }
  /** A local function (a template called from several places). */
  | { readonly k: "fn"; readonly fn: Helper };

/** A function for a template called from several places. */
export interface Helper {
  readonly name: string;
  readonly doc: string;
  readonly params: readonly { readonly name: string; readonly type: string }[];
  readonly body: readonly Stmt[];
}

export interface ImportPlan {
  /** Output file, relative to the output folder (`<workflow>.ts`). */
  readonly path: string;
  readonly workflowName: string;
  /** Comment lines at the top of the file. */
  readonly header: readonly string[];
  readonly body: readonly Stmt[];
  /** `workflow(name, body, options)`; absent when there are none. */
  readonly options?: Code;
  /** Notes about the workflow as a whole, printed before `export default`. */
  readonly notes: readonly string[];
  /** Names imported from "couler" (values and types). */
  readonly imports: ReadonlySet<string>;
  readonly typeImports: ReadonlySet<string>;
}

export const str = (v: string): Code => ({ k: "str", v });
export const raw = (text: string): Code => ({ k: "raw", text });
export const call = (fn: string, ...args: Code[]): Code => ({ k: "call", fn, args });
export const obj = (props: readonly (readonly [string, Code | undefined])[]): Code => ({
  k: "obj",
  props: props.filter((p): p is readonly [string, Code] => p[1] !== undefined),
});
export const arr = (items: readonly Code[]): Code => ({ k: "arr", items });
export const arrow = (body: readonly Stmt[] | Code, params: readonly string[] = []): Code => ({ k: "arrow", params, body });

/** A plain JSON value (from YAML) as code. */
export function jsonCode(x: unknown): Code {
  if (typeof x === "string") return str(x);
  if (typeof x === "number") return { k: "num", v: x };
  if (typeof x === "boolean") return { k: "bool", v: x };
  if (Array.isArray(x)) return arr(x.map(jsonCode));
  if (x && typeof x === "object") return obj(Object.entries(x).map(([k, v]) => [k, jsonCode(v)] as const));
  return raw("null");
}
