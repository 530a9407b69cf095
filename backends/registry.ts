/** The one list of targets. A backend is added here and nowhere else. */
import type { Backend } from "./backend.js";
import { airflowBackend } from "./airflow/airflow-backend.js";
import { argoBackend } from "./argo/argo-backend.js";
import { githubBackend } from "./github/github-backend.js";
import { irBackend } from "./ir/ir-backend.js";
import { kfpBackend } from "./kfp/kfp-backend.js";
import { tektonBackend } from "./tekton/tekton-backend.js";

export const BACKENDS: readonly Backend[] = [argoBackend, tektonBackend, airflowBackend, githubBackend, kfpBackend, irBackend];

export function findBackend(name: string): Backend | undefined {
  return BACKENDS.find((b) => b.name === name);
}

export function targetNames(): string[] {
  return BACKENDS.map((b) => b.name);
}
