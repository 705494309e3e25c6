#!/usr/bin/env node
// The delivery pipeline's metrics for one stack, in Prometheus' text format: what the workflows did
// (a preview on a pull request, an up on main, the morning drift check), when, with what result, and
// how many resources the step would change. delivery-metrics.sh writes them on a manager, where
// node-exporter's textfile collector publishes them (the dashboard "swarm-etl / Delivery pipeline").
// The previous file keeps what earlier steps recorded: other kinds, the last success, the counters.
//   node delivery-metrics.js STACK KIND RESULT [PULUMI_JSON] < previous.prom > new.prom
//   KIND: preview | up | drift   RESULT: success | failure | drift
"use strict";
const fs = require("fs");

const KINDS = ["preview", "up", "drift"];
const RESULTS = ["success", "failure", "drift"];
const OPS = ["create", "update", "replace", "delete"];
const HELP = {
    swarm_etl_delivery_last_run_timestamp_seconds: ["gauge", "When the workflow last ran this step on the stack"],
    swarm_etl_delivery_last_success_timestamp_seconds: ["gauge", "When this step last succeeded on the stack (a drift check: found no drift)"],
    swarm_etl_delivery_last_ok: ["gauge", "1 when the step's last run succeeded (a drift check: found no drift), else 0"],
    swarm_etl_delivery_runs_total: ["counter", "The step's runs on the stack, by result"],
    swarm_etl_delivery_changes: ["gauge", "Resources the step's last run would change (or changed), by operation"],
};

/** The samples of a previous file: name, labels, value. */
function parse(text) {
    const out = [];
    for (const line of String(text ?? "").split("\n")) {
        const m = /^(swarm_etl_delivery_\w+)\{([^}]*)\} (\S+)$/.exec(line.trim());
        if (!m) continue;
        const labels = {};
        for (const kv of m[2].match(/\w+="[^"]*"/g) ?? []) {
            const i = kv.indexOf("=");
            labels[kv.slice(0, i)] = kv.slice(i + 2, -1);
        }
        out.push({ name: m[1], labels, value: Number(m[3]) });
    }
    return out;
}

const key = (s) => `${s.name}{${Object.keys(s.labels).sort().map((k) => `${k}="${s.labels[k]}"`).join(",")}}`;

/** The new file: the previous samples, with this step's replaced and its counter incremented. */
function render({ stack, kind, result, now, changeSummary, previous }) {
    if (!/^[A-Za-z0-9_.-]+$/.test(stack)) throw new Error(`stack ${JSON.stringify(stack)} is not a stack name`);
    if (!KINDS.includes(kind)) throw new Error(`kind ${JSON.stringify(kind)} is not one of ${KINDS.join(", ")}`);
    if (!RESULTS.includes(result)) throw new Error(`result ${JSON.stringify(result)} is not one of ${RESULTS.join(", ")}`);
    const samples = new Map(parse(previous).filter((s) => s.labels.stack === stack).map((s) => [key(s), s]));
    const set = (name, labels, value) => samples.set(key({ name, labels }), { name, labels, value });
    const ok = result === "success";
    const base = { stack, kind };
    set("swarm_etl_delivery_last_run_timestamp_seconds", base, now);
    if (ok) set("swarm_etl_delivery_last_success_timestamp_seconds", base, now);
    set("swarm_etl_delivery_last_ok", base, ok ? 1 : 0);
    for (const r of RESULTS) {
        const k = key({ name: "swarm_etl_delivery_runs_total", labels: { ...base, result: r } });
        const was = samples.get(k)?.value ?? 0;
        set("swarm_etl_delivery_runs_total", { ...base, result: r }, was + (r === result ? 1 : 0));
    }
    if (changeSummary) for (const op of OPS) set("swarm_etl_delivery_changes", { ...base, op }, Number(changeSummary[op] ?? 0));
    const lines = [];
    for (const [name, [type, help]] of Object.entries(HELP)) {
        const of = [...samples.values()].filter((s) => s.name === name).sort((a, b) => key(a).localeCompare(key(b)));
        if (!of.length) continue;
        lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, ...of.map((s) => `${key(s)} ${s.value}`));
    }
    return lines.join("\n") + "\n";
}

module.exports = { render, parse };

if (require.main === module) {
    const [stack, kind, result, json] = process.argv.slice(2);
    let changeSummary;
    if (json) {
        try {
            changeSummary = JSON.parse(fs.readFileSync(json, "utf8")).changeSummary;
        } catch (e) {
            process.stderr.write(`delivery-metrics: ${json} is not pulumi's --json output (${e.message}); the changes are not recorded\n`);
        }
    }
    const previous = fs.readFileSync(0, "utf8");
    process.stdout.write(render({ stack, kind, result, now: Math.floor(Date.now() / 1000), changeSummary, previous }));
}
