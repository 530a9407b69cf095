/**
 * The engine replays the check runs (test/replay.test.ts). Each lives in test/replay/<engine>/
 * and runs that engine's emitted files the way the engine does; its README section and its
 * code cite the engine source each rule follows.
 */
import { argoReplay } from "./argo/argo-replay.js";
import { githubReplay } from "./github/replay.js";
import type { Replay } from "./outcome.js";
import { tektonReplay } from "./tekton/replay.js";
import { AIRFLOW_REPLAYS } from "./airflow/airflow-replay.js";

export const REPLAYS: readonly Replay[] = [argoReplay, tektonReplay(), ...AIRFLOW_REPLAYS, githubReplay];
