/**
 * `couler run` and `couler graph` are registered here (issue 7), separately from the
 * compile commands in cli.ts.
 */
import type { Command } from "commander";
import type { CliIO } from "./cli.js";

/** Add the `run` and `graph` commands to `program`; `setCode` sets the process exit code. */
export function registerRunCommands(_program: Command, _io: CliIO, _setCode: (code: number) => void): void {
  // filled in by the run/graph work
}
