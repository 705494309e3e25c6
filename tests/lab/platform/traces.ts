// The traces checks against the platform the suite deployed (tests/lab/platform.test.ts): the ETL's
// run (deployed by `pulumi up`) is one trace in Jaeger, its stages spans of the run that the
// warehouse recorded; Keycloak's requests of the sign-ins (edgeChecks, before these) are traced;
// and Jaeger's query API and VictoriaLogs' UI are behind the edge's login, for the roles allowed.
import { ETL_TRACE_SERVICE } from "../../../components/stacks/etl/flightsEtl";
import { tracesStoreName } from "../../../components/stacks/traces/traces";
import { TRACE_PORTS } from "../../../components/stacks/traces/render";
import { browserSignIn, url } from "../identity/stack";
import { until } from "../nodeShell";
import { theBrowser } from "./edge";
import { container, figures, LOGS_NODE, OBSERVABILITY_UI_ROLES, psql, sh, TRACES, USERS } from "./suite";

const JAEGER = tracesStoreName(TRACES);

interface JaegerSpan {
    traceID: string;
    spanID: string;
    operationName: string;
    references: { refType: string; spanID: string }[];
    startTime: number;
    duration: number;
    tags: { key: string; value: unknown }[];
}
interface JaegerTrace {
    traceID: string;
    spans: JaegerSpan[];
}

/** Jaeger's query API (GET `path` on 16686), from inside its container. */
async function jaeger<T>(path: string): Promise<T> {
    const out = await sh(`docker exec ${container(JAEGER)} curl -fsS 'http://127.0.0.1:${TRACE_PORTS.query}${path}'`, LOGS_NODE, 60_000);
    return (JSON.parse(out) as { data: T }).data;
}
const tag = (s: JaegerSpan, key: string) => s.tags.find((t) => t.key === key)?.value;

export function tracesChecks(): void {
    describe("traces", () => {
        test("the ETL's run is one trace in Jaeger: etl.run with extract, transform, load, check and swap as its children, for the run the warehouse recorded", async () => {
            const runId = await psql("SELECT run_id FROM flights.etl_run WHERE status = 'succeeded' ORDER BY started_at DESC LIMIT 1");
            expect(runId).toMatch(/^\d{8}T\d{6}Z-[0-9a-f]{8}$/);
            let run: JaegerTrace | undefined;
            // The driver flushes its spans at the end of the run; the collector passes them on within seconds.
            await until(async () => {
                const traces = await jaeger<JaegerTrace[]>(`/api/traces?service=${ETL_TRACE_SERVICE}&operation=etl.run&limit=50&lookback=6h`);
                run = traces.find((t) => t.spans.some((s) => s.operationName === "etl.run" && tag(s, "etl.run_id") === runId));
                return run !== undefined;
            }, 120_000, `the trace of run ${runId} in Jaeger`);
            const root = run!.spans.find((s) => s.operationName === "etl.run")!;
            expect(root.references).toEqual([]);
            const children = run!.spans.filter((s) => s.references.some((r) => r.refType === "CHILD_OF" && r.spanID === root.spanID));
            const stages = children.sort((a, b) => a.startTime - b.startTime).map((s) => s.operationName);
            expect(stages).toEqual(["extract", "transform", "load", "check", "swap"]);
            const load = children.find((s) => s.operationName === "load")!;
            expect(Number(tag(load, "etl.rows_loaded"))).toBeGreaterThan(100_000);
            // Each stage lies inside the run.
            for (const s of children) expect(s.startTime >= root.startTime && s.startTime + s.duration <= root.startTime + root.duration).toBe(true);
            figures.observability.push(
                `traces: the ETL's run ${runId}: ${(root.duration / 1e6).toFixed(1)} s in ${run!.spans.length} spans (${children.map((s) => `${s.operationName} ${(s.duration / 1e6).toFixed(1)} s`).join(", ")})`,
            );
        }, 180_000);

        test("Keycloak's requests are traced: the sign-ins' token and login requests of the platform realm are spans of service keycloak", async () => {
            let spans: JaegerSpan[] = [];
            await until(async () => {
                const traces = await jaeger<JaegerTrace[]>(`/api/traces?service=keycloak&limit=200&lookback=2h`);
                spans = traces.flatMap((t) => t.spans);
                return spans.some((s) => /\/realms\/platform\/(protocol\/openid-connect\/token|login-actions\/authenticate)/.test(`${s.operationName} ${tag(s, "url.path") ?? tag(s, "http.route") ?? ""}`));
            }, 120_000, "Keycloak's spans of the platform realm's sign-ins in Jaeger");
            const services = await jaeger<string[]>("/api/services");
            expect(services).toEqual(expect.arrayContaining(["keycloak", ETL_TRACE_SERVICE]));
            const ops = [...new Set(spans.map((s) => s.operationName))].sort();
            figures.observability.push(`traces: Keycloak's ${spans.length} spans in the last 2 h, ${ops.length} operations (${ops.slice(0, 6).join(", ")}${ops.length > 6 ? ", …" : ""})`);
        }, 180_000);

        test("Jaeger's query API and VictoriaLogs' UI are behind the edge's login: a data engineer reads the ETL's trace and opens the logs; a viewer gets 403", async () => {
            const chrome = await theBrowser();
            const allowed = USERS.find((u) => u.role === "data-engineer")!;
            const denied = USERS.find((u) => u.role === "viewer")!;
            expect(OBSERVABILITY_UI_ROLES).toContain(allowed.role);
            expect(OBSERVABILITY_UI_ROLES).not.toContain(denied.role);
            const apiTarget = url("traces", `/api/traces?service=${ETL_TRACE_SERVICE}&operation=etl.run&limit=5&lookback=6h`);
            const logsTarget = url("logs", "/select/vmui/");
            for (const [user, expected] of [[allowed, 200], [denied, 403]] as const) {
                const context = await chrome.newContext({ ignoreHTTPSErrors: true });
                const page = await context.newPage();
                // The matrix (edgeChecks) signed every user in once: their own password is chosen.
                await browserSignIn(page, user, apiTarget, false);
                const api = await page.goto(apiTarget, { waitUntil: "domcontentloaded" });
                expect(`${user.role} → traces: ${api?.status()}`).toBe(`${user.role} → traces: ${expected}`);
                if (expected === 200) expect(((await api!.json()) as { data: JaegerTrace[] }).data.length).toBeGreaterThan(0);
                const ui = await page.goto(logsTarget, { waitUntil: "domcontentloaded" });
                expect(`${user.role} → logs: ${ui?.status()}`).toBe(`${user.role} → logs: ${expected}`);
                if (expected === 200) expect(await ui!.text()).toMatch(/<html/i);
                await context.close();
            }
        }, 300_000);
    });
}
