// The dashboards as code, linted: Grafana's own SDK builds them; every dashboard has its own uid
// and the `datasource` variable; every panel reads it, has a description, a unique title and a
// place on the grid; and every query parses as PromQL (`promtool check rules` on a rule file
// made of them — a broken query fails it). The lab runs each query against Prometheus
// (tests/lab/platform/dashboards.ts).
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { stringify } from "yaml";
import { dashboardQueries, DASHBOARDS, platformDashboards } from "../../components/stacks/observability/dashboards";
import { promtool } from "./promtool";

const dashboards = platformDashboards();

function promtoolCheck(exprs: string[]): { status: number | null; out: string } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dashboards-"));
    const file = path.join(dir, "panels.yml");
    fs.writeFileSync(file, stringify({ groups: [{ name: "panels", rules: exprs.map((expr, i) => ({ record: `panel:query_${i}`, expr: expr.replace(/\$__rate_interval/g, "1m") })) }] }));
    return promtool(["check", "rules", file]);
}

describe("dashboards as code", () => {
    test("the platform's dashboards: cluster and nodes, services, PostgreSQL HA, identity and the edge, Spark and the ETL, the delivery pipeline", () => {
        expect(Object.keys(dashboards).sort()).toEqual(["swarm-etl-cluster", "swarm-etl-delivery", "swarm-etl-etl", "swarm-etl-identity", "swarm-etl-postgres", "swarm-etl-services"]);
        for (const [uid, d] of Object.entries(dashboards)) {
            expect(d.uid).toBe(uid);
            expect(d.tags).toContain("swarm-etl");
            expect(d.templating?.list?.map((v) => `${v.type} ${v.name} ${v.query}`)).toEqual(["datasource datasource prometheus"]);
        }
    });

    test("every panel reads the dashboard's data source, has a description, a unique title and a place on the grid", () => {
        for (const d of Object.values(dashboards)) {
            const panels = (d.panels ?? []).filter((p) => p.type !== "row") as { title?: string; description?: string; datasource?: { uid?: string }; gridPos?: { x: number; y: number; w: number; h: number }; targets?: { datasource?: { uid?: string }; expr?: string }[] }[];
            expect(panels.length).toBeGreaterThan(3);
            const titles = panels.map((p) => p.title);
            expect(new Set(titles).size).toBe(titles.length);
            for (const p of panels) {
                expect(`${d.uid} / ${p.title}: ${p.datasource?.uid}`).toBe(`${d.uid} / ${p.title}: \${datasource}`);
                expect(p.description?.length).toBeGreaterThan(10);
                expect(p.gridPos!.x + p.gridPos!.w).toBeLessThanOrEqual(24);
                expect(p.targets?.length).toBeGreaterThan(0);
                for (const t of p.targets ?? []) {
                    expect(t.datasource?.uid).toBe("${datasource}");
                    expect(t.expr?.trim()).not.toBe("");
                }
            }
            // No two panels on the same cell of the grid.
            const cells = new Set<string>();
            for (const p of panels) for (let x = p.gridPos!.x; x < p.gridPos!.x + p.gridPos!.w; x++) for (let y = p.gridPos!.y; y < p.gridPos!.y + p.gridPos!.h; y++) {
                expect(cells.has(`${x},${y}`)).toBe(false);
                cells.add(`${x},${y}`);
            }
        }
    });

    test("every query parses as PromQL (promtool), and a broken one is caught", () => {
        const exprs = Object.values(dashboards).flatMap((d) => dashboardQueries(d).map((q) => q.expr));
        expect(exprs.length).toBe(DASHBOARDS.flatMap((d) => d.rows.flatMap((r) => r.panels.flatMap((p) => p.queries))).length);
        const ok = promtoolCheck(exprs);
        expect(ok.out).toContain(`SUCCESS: ${exprs.length} rules found`);
        expect(ok.status).toBe(0);
        const broken = promtoolCheck([...exprs, "sum by (node (up)"]);
        expect(broken.status).not.toBe(0);
    });
});
