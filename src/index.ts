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
  createSecret,
  cronProblem,
  WFStatus,
  isWorkflow,
  type Workflow,
  type WorkflowOptions,
  type ConfigOptions,
} from "./dsl/workflow.js";
export {
  runContainer,
  runScript,
  runJob,
  runTemplate,
  obtainSecret,
  createParameterArtifact,
  StepHandle,
  type StepOptions,
  type ScriptOptions,
  type RetryOptions,
  type SecretSource,
  type ParameterOutput,
  type Duration,
  type JobOptions,
  type VolumeMountSpec,
} from "./dsl/steps.js";
export {
  when,
  map,
  execWhile,
  setExitHandler,
  equal,
  notEqual,
  bigger,
  smaller,
  biggerEqual,
  smallerEqual,
  and,
  or,
  not,
  workflowName,
  workflowStatus,
  Predicate,
  MapItem,
  type WhenBlock,
  type MapOptions,
} from "./dsl/control.js";
export {
  createLocalArtifact,
  createS3Artifact,
  createGcsArtifact,
  createOssArtifact,
  createGitArtifact,
  createHttpArtifact,
  type ArtifactSpec,
  type ArtifactRef,
  type ArtifactInput,
  type SecretSelector,
  type S3Options,
} from "./dsl/artifacts.js";
export {
  addVolume,
  createWorkflowVolume,
  emptyDirVolume,
  VolumeMount,
  addImagePullSecret,
  setDns,
  setSecurityContext,
  Cache,
  type Volume,
  type CacheSpec,
} from "./dsl/kube.js";
export { ValueRef, type Input } from "./dsl/values.js";
export type * from "./ir/types.js";
export {
  compile,
  run,
  CoulerUsageError,
  CoulerDiagnosticsError,
  type CompileOptions,
  type CompileResult,
  type CompiledFile,
  type RunWorkflowOptions,
} from "./api.js";
export type { Diagnostic, Severity } from "./diagnostics.js";
export type { RunRecord, StepRecord, ItemRun, RunOfStep, StepStatus, WorkflowStatus as RunStatus } from "./run/record.js";
export type { RunEvent } from "./run/interpreter.js";
