// Records image digests in a stack's config file: node images/record.js Pulumi.<stack>.yaml '{"name": "ref@sha256:…"}'
// Merges them into `swarm-etl:images` (other images and every other key stay as they are).
"use strict";
const fs = require("fs");
const YAML = require("yaml");

const [file, json] = process.argv.slice(2);
if (!file || !json) {
    console.error("usage: node images/record.js Pulumi.<stack>.yaml '{\"name\": \"ref@sha256:...\"}'");
    process.exit(2);
}
const doc = YAML.parseDocument(fs.readFileSync(file, "utf8"));
const refs = JSON.parse(json);
for (const [name, ref] of Object.entries(refs)) {
    if (!/@sha256:[0-9a-f]{64}$/.test(ref)) {
        console.error(`images/record.js: ${name}: ${ref} is not pinned by digest`);
        process.exit(1);
    }
    doc.setIn(["config", "swarm-etl:images", name], ref);
}
fs.writeFileSync(file + ".tmp", doc.toString());
fs.renameSync(file + ".tmp", file);
