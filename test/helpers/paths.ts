import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root (tests run from dist/test/...). */
export const REPO = fileURLToPath(new URL("../../../", import.meta.url));

export function repoPath(...parts: string[]): string {
  return join(REPO, ...parts);
}
