/** The README's fixture table is generated from the fixtures' leading comments and kept current. */
import assert from "node:assert/strict";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { describe, test } from "node:test";
import { UPDATE } from "./helpers/golden.js";
import { repoPath } from "./helpers/paths.js";

/** A fixture's leading `//` comment, as one line. */
function summary(path: string): string {
  const lines: string[] = [];
  for (const l of readFileSync(path, "utf8").split("\n")) {
    if (!l.startsWith("//")) break;
    lines.push(l.slice(2).trim());
  }
  return lines.join(" ").replace(/\s+/g, " ").replace(/\|/g, "\\|");
}

export function fixtureTable(): string {
  const rows = ["| fixture | what it shows |", "| --- | --- |"];
  for (const [dir, label] of [["fixtures", ""], ["fixtures/invalid", "invalid/"]] as const) {
    for (const f of readdirSync(repoPath(dir)).filter((x) => x.endsWith(".ts")).sort()) {
      rows.push(`| [\`${label}${f}\`](${dir}/${f}) | ${summary(repoPath(dir, f))} |`);
    }
  }
  return rows.join("\n");
}

describe("README", () => {
  test("the fixture table lists every fixture with its leading comment", () => {
    const file = repoPath("README.md");
    const text = readFileSync(file, "utf8");
    const begin = "<!-- fixtures:begin -->\n";
    const end = "\n<!-- fixtures:end -->";
    const a = text.indexOf(begin);
    const b = text.indexOf(end);
    assert.ok(a >= 0 && b > a, "README.md has the fixtures markers");
    const want = text.slice(0, a + begin.length) + fixtureTable() + text.slice(b);
    if (UPDATE) writeFileSync(file, want);
    assert.equal(readFileSync(file, "utf8"), want, "run UPDATE_GOLDEN=1 npm test to regenerate the README's fixture table");
  });

  test("every fixture starts with a comment saying what it shows", () => {
    for (const dir of ["fixtures", "fixtures/invalid"]) {
      for (const f of readdirSync(repoPath(dir)).filter((x) => x.endsWith(".ts"))) assert.notEqual(summary(repoPath(dir, f)), "", `${dir}/${f}`);
    }
  });
});
