/**
 * couler: write a workflow once in TypeScript, compile it to Argo Workflows, Tekton,
 * Airflow and GitHub Actions.
 *
 * ```ts
 * import { workflow, runContainer } from "couler";
 * export default workflow("hello", () => runContainer({ image: "alpine:3.20", command: ["echo", "hi"] }));
 * ```
 */
export {
  workflow,
  configWorkflow,
  param,
  concurrent,
  dag,
  setDependencies,
  WFStatus,
  isWorkflow,
  type Workflow,
  type WorkflowOptions,
  type ConfigOptions,
} from "./dsl/workflow.js";
export {
  runContainer,
  runScript,
  obtainSecret,
  createParameterArtifact,
  StepHandle,
  type StepOptions,
  type ScriptOptions,
  type RetryOptions,
  type SecretSource,
  type ParameterOutput,
  type Duration,
} from "./dsl/steps.js";
export { ValueRef, type Input } from "./dsl/values.js";
export type * from "./ir/types.js";
