#!/usr/bin/env node
// Turns `pulumi preview --json` output into what drifted: one line per resource that would change,
// with the properties that differ. Used by drift-check.sh for the log and the job summary; never
// prints property values (the JSON also carries inputs and config, secrets among them).
//   node drift-summary.js preview.json STACK   → markdown on stdout
"use strict";
const fs = require("fs");

/** Steps that are not changes: nothing to do, reads, and the refresh's own bookkeeping. */
const NOT_A_CHANGE = new Set(["same", "read", "refresh", "discard", "read-discard"]);

/** `pulumi-nodejs:dynamic/swarm:Service` and `demo-web` from a URN. */
function splitUrn(urn) {
    const parts = String(urn).split("::");
    const name = parts[parts.length - 1] ?? "";
    const typeChain = parts[parts.length - 2] ?? "";
    return { type: typeChain.slice(typeChain.lastIndexOf("$") + 1), name };
}

/** The changes of a preview: op, type, name and the changed properties (names only). */
function changesOf(preview) {
    return (preview.steps ?? [])
        .filter((s) => !NOT_A_CHANGE.has(s.op))
        .map((s) => {
            const { type, name } = splitUrn(s.urn);
            const props = [...new Set([...(s.diffReasons ?? []), ...Object.keys(s.detailedDiff ?? {})])].sort();
            return { op: s.op, type, name, props };
        });
}

/** Markdown for the job summary (and the log): a heading, the counts, a table of the changes. */
function summarize(preview, stack) {
    const changes = changesOf(preview);
    if (changes.length === 0) return `### ${stack}: no drift\n\nThe cluster matches the code on main.\n`;
    const counts = Object.entries(preview.changeSummary ?? {})
        .filter(([op]) => op !== "same")
        .map(([op, n]) => `${n} to ${op}`)
        .join(", ");
    const rows = changes.map((c) => `| ${c.op} | ${c.name} | \`${c.type}\` | ${c.props.length ? c.props.map((p) => `\`${p}\``).join(", ") : "—"} |`);
    return [
        `### ${stack}: drift — the cluster no longer matches the code (${counts || `${changes.length} changes`})`,
        "",
        "| change | resource | type | properties that differ |",
        "| --- | --- | --- | --- |",
        ...rows,
        "",
        "A refreshed preview proposes these changes to bring the cluster back to the code. Either put the manual change into",
        "the code (and its config) through a pull request, or revert it with the deploy workflow (`pulumi up --refresh`).",
        "",
    ].join("\n");
}

module.exports = { changesOf, summarize, splitUrn };

if (require.main === module) {
    const [file, stack] = process.argv.slice(2);
    if (!file || !stack) {
        console.error("usage: drift-summary.js PREVIEW_JSON STACK");
        process.exit(2);
    }
    process.stdout.write(summarize(JSON.parse(fs.readFileSync(file, "utf8")), stack));
}
