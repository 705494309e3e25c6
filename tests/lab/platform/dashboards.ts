// The dashboards as code (components/stacks/observability/dashboards.ts) against the lab's real
// Prometheus, after the ETL ran, people signed in through the edge and the delivery workflows'
// script recorded the lab stack's steps: every panel's query, as
// Grafana sends it ($__rate_interval: four scrape intervals), returns data. Grafana itself cannot
// run here (AGPL): the key panels are drawn from that same data with Chart.js in Chromium into
// docs/img/dashboard-*.png.
import * as fs from "fs";
import * as path from "path";
import { chromium } from "playwright-core";
import { dashboardQueries, DASHBOARDS, platformDashboards } from "../../../components/stacks/observability/dashboards";
import { REPO } from "../labConfig";
import { spawnSync } from "child_process";
import * as os from "os";
import { until } from "../nodeShell";
import { prom, query } from "./observability";
import { figures, stack } from "./suite";

const CHROMIUM = process.env.SWARM_ETL_CHROMIUM ?? "/usr/bin/chromium";
/** Grafana's $__rate_interval at the lab's 15 s scrape interval. */
const RATE_INTERVAL = "1m";
const asGrafana = (expr: string) => expr.replace(/\$__rate_interval/g, RATE_INTERVAL);

/** The panels drawn for the docs: dashboard uid and panel title. */
const DRAWN: [string, string][] = [
    ["swarm-etl-cluster", "CPU busy"],
    ["swarm-etl-services", "Running ÷ desired tasks"],
    ["swarm-etl-postgres", "Replication lag"],
    ["swarm-etl-identity", "Keycloak requests by status"],
];

interface RangeSeries { metric: Record<string, string>; values: [number, string][] }

/** A panel's series over the last 30 minutes, drawn by Chart.js in Chromium into a PNG. */
async function drawPanel(page: import("playwright-core").Page, uid: string, title: string): Promise<string> {
    const spec = DASHBOARDS.find((d) => d.uid === uid)!;
    const panel = spec.rows.flatMap((r) => r.panels).find((p) => p.title === title)!;
    const end = Math.floor(Date.now() / 1000);
    const datasets: { label: string; data: { x: number; y: number }[] }[] = [];
    for (const q of panel.queries) {
        const r = await prom<{ result: RangeSeries[] }>(`/api/v1/query_range?query=${encodeURIComponent(asGrafana(q.expr))}&start=${end - 1800}&end=${end}&step=15`);
        for (const s of r.result) {
            const label = (q.legend ?? "").replace(/\{\{(\w+)\}\}/g, (_, k: string) => s.metric[k] ?? "") || JSON.stringify(s.metric);
            datasets.push({ label, data: s.values.map(([t, v]) => ({ x: (t - end) / 60, y: Number(v) })) });
        }
    }
    // The UMD build, beside the package's main file (its "exports" name no such subpath).
    const chartJs = fs.readFileSync(path.join(path.dirname(require.resolve("chart.js")), "chart.umd.js"), "utf8");
    await page.setContent(`<html><body style="margin:0;background:#fff"><canvas id="c" width="900" height="360"></canvas></body></html>`);
    await page.addScriptTag({ content: chartJs });
    const config = {
        type: "line",
        data: { datasets: datasets.map((d) => ({ ...d, pointRadius: 0, borderWidth: 2 })) },
        options: {
            animation: false,
            responsive: false,
            plugins: { title: { display: true, text: `${spec.title}: ${title}` }, legend: { position: "bottom" } },
            scales: { x: { type: "linear", title: { display: true, text: "minutes" } }, y: { title: { display: true, text: panel.unit ?? "" } } },
        },
    };
    await page.evaluate(`new Chart(document.getElementById("c"), ${JSON.stringify(config)})`);
    const file = path.join(REPO, "docs/img", `dashboard-${uid.replace(/^swarm-etl-/, "")}.png`);
    await page.locator("#c").screenshot({ path: file });
    return file;
}

const LAB_DIR = process.env.SWARM_ETL_LAB_DIR ?? "/var/lib/swarm-etl-lab";

/** Records a delivery step of the lab's stack as the workflows do (.github/scripts/delivery-metrics.sh), through the lab's bastion to mgr1. */
function recordDelivery(kind: string, result: string, json?: string): string {
    const r = spawnSync("bash", [path.join(REPO, ".github/scripts/delivery-metrics.sh"), "lab", kind, result, ...(json ? [json] : [])], {
        encoding: "utf8",
        env: { ...process.env, SWARM_ETL_SSH_CONFIG: path.join(LAB_DIR, "ssh/config"), SWARM_ETL_SSH_HOST: "mgr1" },
        timeout: 60_000,
    });
    if (r.status !== 0 || !r.stdout.includes("written to mgr1")) throw new Error(`delivery-metrics.sh ${kind} ${result} did not write the lab's metrics (exit ${r.status}):\n${r.stdout}${r.stderr}`);
    return r.stdout.trim();
}

export function dashboardChecks(): void {
    describe("dashboards as code", () => {
        test("the delivery pipeline's metrics as the workflows record them: a preview (its changes from the engine's own preview), an up, a drift check, on mgr1's textfile directory, scraped", async () => {
            const preview = await stack().preview();
            const json = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "delivery-")), "preview.json");
            fs.writeFileSync(json, JSON.stringify({ changeSummary: preview.changeSummary }));
            recordDelivery("preview", "success", json);
            recordDelivery("up", "success");
            recordDelivery("drift", "success", json);
            // node-exporter on mgr1 publishes the file; Prometheus has it at its next scrape.
            let got: { metric: Record<string, string>; value: [number, string] }[] = [];
            await until(async () => (got = await query('swarm_etl_delivery_last_ok{stack="lab"}')).length >= 3, 60_000, "the lab's delivery metrics in Prometheus");
            expect([...new Set(got.map((r) => `${r.metric.kind} ${r.value[1]}`))].sort()).toEqual(["drift 1", "preview 1", "up 1"]);
            expect(got.every((r) => r.metric.job === "node")).toBe(true);
            figures.observability.push(`delivery metrics: the lab stack's preview, up and drift check, published by node-exporter on ${[...new Set(got.map((r) => r.metric.node))].sort().join(", ")}`);
        }, 180_000);


        test("every panel of every dashboard returns data from the lab's Prometheus; the key panels drawn from it", async () => {
            const dashboards = platformDashboards();
            const all = Object.entries(dashboards).flatMap(([uid, d]) => dashboardQueries(d).map((q) => ({ uid, ...q })));
            // A series the checks just made (a lockout) is in Prometheus after its next scrapes
            // (an increase needs two samples): the empty ones are asked again for up to a minute.
            let empty: string[] = [];
            for (const t0 = Date.now(); ; ) {
                empty = [];
                for (const q of all) {
                    const result = await query(asGrafana(q.expr)).catch((e: Error) => e);
                    if (result instanceof Error) empty.push(`${q.uid} / ${q.panel}: ${q.expr}: ${result.message.split("\n")[0]}`);
                    else if (result.length === 0) empty.push(`${q.uid} / ${q.panel}: no data for ${q.expr}`);
                }
                if (empty.length === 0 || Date.now() - t0 > 60_000) break;
                await new Promise((r) => setTimeout(r, 10_000));
            }
            const queries = all.length;
            expect(empty).toEqual([]);
            figures.observability.push(`dashboards: ${Object.keys(dashboards).length} dashboards, ${queries} panel queries, each returned data`);
            if (!fs.existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}; fix: apt-get install -y chromium (scripts/setup.sh does), or set SWARM_ETL_CHROMIUM`);
            const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
            try {
                const page = await browser.newPage();
                for (const [uid, title] of DRAWN) expect(fs.statSync(await drawPanel(page, uid, title)).size).toBeGreaterThan(5000);
            } finally {
                await browser.close();
            }
        }, 300_000);
    });
}
