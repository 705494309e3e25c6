// The `swarm-etl:observability` slice of the stack config: where Prometheus can run (a manager; in
// prod the control manager), where the stores go, alert receivers, Grafana (never in the lab) and
// the images each part needs, every problem under its key with the fix.
import { parseStackConfig } from "../../config/schema";
import { alertingOf, resolveObservabilityNodes } from "../../components/stacks/observability/config";
import { configProblems, HOST_KEY, LAB_IMAGES, labConfig } from "./mocks";

const RECEIVERS = { alerting: { receivers: [{ name: "ops", webhook: { url: "https://hooks.example.com/am" } }] } };
const REAL = { "logs-loki": `r.example.com/loki@sha256:${"1".repeat(64)}`, grafana: `r.example.com/grafana@sha256:${"2".repeat(64)}` };
/** prod with backups off (they need a path), the alert receiver and Loki's and Grafana's images. */
const prod = (over: Record<string, unknown> = {}, observability: Record<string, unknown> = {}) =>
    labConfig({ profile: "prod", postgres: { backup: { enabled: false } }, images: { ...LAB_IMAGES, ...REAL }, observability: { ...RECEIVERS, ...observability }, ...over });
const withControl = (cfg: Record<string, unknown>, i = 0): Record<string, unknown> => ({
    ...cfg,
    managers: (cfg.managers as Record<string, unknown>[]).map((m, j) => (j === i ? { ...m, labels: { ...(m.labels as object), "swarm-etl.control": "true" } } : m)),
});

describe("the observability slice of the stack config", () => {
    test("the lab: on by default, Prometheus on the first manager, VictoriaLogs on the first worker, Jaeger beside it, no Grafana, no receiver needed", () => {
        const cfg = parseStackConfig(labConfig());
        expect(cfg.observability).toMatchObject({ enabled: true, retention: "15d", scrapeInterval: "15s", containers: true, logs: { enabled: true, retention: "7d" }, traces: { enabled: true } });
        const nodes = [...cfg.managers.map((m) => ({ ...m, role: "manager" as const })), ...cfg.workers.map((w) => ({ ...w, role: "worker" as const }))];
        expect(resolveObservabilityNodes(cfg.observability, nodes)).toEqual({ control: "mgr1", logs: "wkr1", traces: "wkr1", grafana: "wkr1" });
    });

    test("prod: drained managers leave Prometheus nowhere; the control label keeps one active for it", () => {
        expect(configProblems(prod())).toEqual([
            'swarm-etl:observability.node: no manager can run Prometheus (every manager is drained, as prod does by default); fix: label one manager swarm-etl.control: "true" (it stays active and runs only the control services), or set observability.enabled false',
        ]);
        const cfg = parseStackConfig(withControl(prod(), 1));
        expect(cfg.managers.map((m) => m.availability)).toEqual(["drain", "active", "drain"]);
        expect(() => parseStackConfig(prod({}, { enabled: false }))).not.toThrow();
    });

    test("the control label on a worker, on two managers; Prometheus on a worker or a drained manager", () => {
        const cfg = withControl(prod());
        const workers = (cfg.workers as Record<string, unknown>[]).map((w, i) => (i === 0 ? { ...w, labels: { ...(w.labels as object), "swarm-etl.control": "true" } } : w));
        expect(configProblems({ ...withControl(cfg, 2), workers })).toEqual([
            "swarm-etl:observability.node: wkr1 carries swarm-etl.control=true but is a worker: the control node reads the swarm's API, which only managers serve; fix: label a manager instead",
            "swarm-etl:observability.node: mgr1 and mgr3 and wkr1 both carry swarm-etl.control=true; fix: label one manager",
        ]);
        expect(configProblems({ ...cfg, observability: { ...RECEIVERS, node: "wkr1" } })).toEqual(["swarm-etl:observability.node: wkr1 is a worker: Prometheus reads the swarm through a manager's Docker API; fix: name a manager"]);
        expect(configProblems({ ...cfg, observability: { ...RECEIVERS, node: "mgr2" } })).toEqual([
            'swarm-etl:observability.node: mgr2 is drain, so Prometheus could not run there; fix: label it swarm-etl.control: "true" (prod then keeps it active for the control services only), or choose an active manager',
        ]);
        expect(configProblems({ ...cfg, observability: { ...RECEIVERS, logs: { node: "mgr9" } } })).toEqual(['swarm-etl:observability.logs.node: "mgr9" is not a node of the stack (nodes: mgr1, mgr2, mgr3, wkr1, wkr2); fix: name one of them']);
    });

    test("alerts need a receiver outside the lab; a route to an unknown receiver; a webhook that is not a URL", () => {
        expect(configProblems(withControl(prod({}, { alerting: {} })))).toEqual([
            'swarm-etl:observability.alerting.receivers: is empty, so alerts would reach nobody; fix: add one, e.g. [{name: ops, webhook: {url: "https://hooks.example.com/alertmanager"}}]',
        ]);
        const bad = { alerting: { receivers: [{ name: "ops", webhook: { url: "hooks" } }], routes: [{ matchers: ["severity=page"], receiver: "pager" }] } };
        expect(configProblems(withControl(prod({}, bad)))).toEqual([
            'swarm-etl:observability.alerting: receiver ops: webhook url "hooks" is not an http(s) URL; fix: e.g. https://hooks.example.com/alertmanager',
            'swarm-etl:observability.alerting: receiver "pager" is not declared (receivers: ops); fix: declare it, or route to one of them',
        ]);
    });

    test("receivers: mail and a chat with their secrets (wrapped as secrets for the program), one without any destination, a chat URL never echoed", () => {
        const receivers = [
            { name: "ops", email: { to: "ops@example.com", from: "am@example.com", smarthost: "smtp.example.com:587", username: "am", password: "smtp-pass" }, chat: { url: "https://chat.example.com/hooks/tok", channel: "#ops" } },
        ];
        const cfg = parseStackConfig(withControl(prod({}, { alerting: { receivers } })));
        const wrapped: string[] = [];
        const alerting = alertingOf(cfg.observability, (v) => {
            wrapped.push(v);
            return `secret(${v.length})`;
        });
        expect(wrapped).toEqual(["smtp-pass", "https://chat.example.com/hooks/tok"]);
        expect(alerting.receivers[0]).toMatchObject({ email: { password: "secret(9)", username: "am" }, chat: { url: "secret(34)", channel: "#ops" } });
        expect(configProblems(withControl(prod({}, { alerting: { receivers: [{ name: "void" }, { name: "bad", chat: { url: "chat.example.com/hooks/tok" } }] } })))).toEqual([
            "swarm-etl:observability.alerting.receivers[0]: has no destination; fix: give it a webhook, an email or a chat (or remove it)",
            "swarm-etl:observability.alerting.receivers[1].chat.url: [secret] is not an http(s) URL; fix: the chat's incoming webhook URL, as a config secret",
        ]);
    });

    test("Grafana: never in the lab; on real clusters with the edge, its image from your registry, pinned", () => {
        expect(configProblems(labConfig({ observability: { grafana: { enabled: true } } }))).toEqual([
            "swarm-etl:observability.grafana.enabled: Grafana is AGPL and is not run on the lab's machine; fix: leave it unset in the lab (the lab runs every dashboard panel's query against Prometheus instead)",
        ]);
        const { grafana: _g, ...noGrafana } = { ...LAB_IMAGES, ...REAL };
        expect(configProblems(withControl(prod({ edge: { domain: "prod.example.com" }, images: { ...noGrafana, "logs-loki": "r.example.com/loki:3" } })))).toEqual([
            'swarm-etl:images.logs-loki: "r.example.com/loki:3" is not pinned by digest; fix: use <registry>/<repo>@sha256:…',
            "swarm-etl:images.grafana: is not set, and observability is enabled; fix: push it to your registry and set images.grafana to it by digest (AGPL: not built here)",
        ]);
        // Without the edge there is no Grafana (it signs people in through it), so no image is needed.
        expect(() => parseStackConfig(withControl(prod({ images: { ...noGrafana, "logs-loki": REAL["logs-loki"] } })))).not.toThrow();
    });

    test("durations and retentions that are not ones", () => {
        expect(configProblems(labConfig({ observability: { retention: "15 days", logs: { retention: "7" } } }))).toEqual([
            'swarm-etl:observability.retention: "15 days" is not a Prometheus duration; fix: e.g. 15d, 12h or 30s',
            'swarm-etl:observability.logs.retention: "7" is not a number of hours, days or weeks; fix: e.g. 12h, 7d or 4w',
        ]);
        expect(HOST_KEY).toMatch(/^ssh-ed25519 /);
    });
});
