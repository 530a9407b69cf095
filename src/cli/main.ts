#!/usr/bin/env node
/** The `couler` executable. */
import { runCli } from "./cli.js";

// `couler compile ... | head` closes our stdout early: that is not an error.
process.stdout.on("error", (e: NodeJS.ErrnoException) => {
  if (e.code === "EPIPE") process.exit(process.exitCode ?? 0);
  throw e;
});

process.exitCode = await runCli(process.argv.slice(2));
