// Grafana: the platform's dashboards (components/stacks/observability/dashboards.ts, built with
// Grafana's SDK) with their data sources (Prometheus, the log store, Jaeger), provisioned read-only,
// for real clusters. People sign in through Keycloak (the realm's `grafana` client, PKCE), behind
// the edge like every UI, and their Grafana role comes from their realm role (`roles`: Admin,
// Editor, Viewer; a person with none of the mapped roles is refused). Grafana is AGPL: its image
// comes from the cluster's registry (`swarm-etl:images` grafana) and it never runs on this machine;
// the lab runs every panel's query against its Prometheus instead (tests/lab/platform/dashboards.ts).
//
// Its secrets (the OIDC client's, the break-glass admin's password) are Swarm secrets read through
// GF_*__FILE; its state (users, preferences) is SQLite on a volume of one node.
import * as pulumi from "@pulumi/pulumi";
import { Config, GeneratedPassword, HostConnection, ImageCheck, Secret, Service, ServiceSecretRef, Volume } from "../../../providers/swarm";
import type { LogStoreKind } from "../logs/render";
import { platformDashboards } from "../observability/dashboards";
import { DASHBOARDS_DIR, DEFAULT_GRAFANA_ROLES, GRAFANA_PORT, GRAFANA_UID, grafanaEnv, GrafanaRoleMapping, PROVISIONING_DIR, renderDashboardProvider, renderDatasources, roleMappingProblems } from "./render";

/** The image, by its name in `swarm-etl:images` (from the cluster's registry: never built here). */
export const GRAFANA_IMAGE = "grafana";

export interface GrafanaArgs {
    readonly connection: HostConnection;
    readonly privateKey: pulumi.Input<string>;
    /** The node that holds its state, and its own connection. */
    readonly node: string;
    readonly nodeConnection: HostConnection;
    readonly image: pulumi.Input<string>;
    /** The URL people open through the edge, e.g. https://grafana.example.com. */
    readonly rootUrl: string;
    /** Networks it reaches its data sources and Keycloak on (the observability, logs and Keycloak networks). */
    readonly networkIds: readonly pulumi.Input<string>[];
    readonly datasources: {
        readonly prometheusUrl: string;
        readonly logs?: { readonly kind: LogStoreKind; readonly url: string };
        readonly tracesUrl?: string;
        readonly scrapeInterval?: string;
    };
    readonly oidc: {
        readonly issuerUrl: string;
        readonly internalRealmUrl: string;
        readonly clientId: string;
        /** The client's secret as Keycloak generated it (a secret output). */
        readonly clientSecret: pulumi.Input<string>;
    };
    /** Realm roles → Grafana roles. @default - DEFAULT_GRAFANA_ROLES */
    readonly roles?: GrafanaRoleMapping;
    /** The realm's roles, to check the mapping against. @default - not checked */
    readonly realmRoles?: readonly string[];
    readonly endpointMode?: "vip" | "dnsrr";
}

/** What is wrong with the arguments, each with its fix (reported before anything changes). */
export function grafanaArgsProblems(a: Pick<GrafanaArgs, "rootUrl" | "roles" | "realmRoles"> & { readonly oidc: Pick<GrafanaArgs["oidc"], "issuerUrl" | "internalRealmUrl"> }): string[] {
    const out: string[] = [];
    const url = (v: string) => {
        try {
            const u = new URL(v);
            return u.protocol === "https:" || u.protocol === "http:" ? u : undefined;
        } catch {
            return undefined;
        }
    };
    const root = url(a.rootUrl);
    if (!root || root.search || root.hash) out.push(`rootUrl ${JSON.stringify(a.rootUrl)} is not the URL people open; fix: e.g. https://grafana.example.com`);
    else if (root.protocol !== "https:") out.push(`rootUrl ${JSON.stringify(a.rootUrl)} is not https: Grafana's session cookie is Secure; fix: the edge's https URL, e.g. https://grafana.example.com`);
    if (!url(a.oidc.issuerUrl) || !/\/realms\/[^/]+$/.test(a.oidc.issuerUrl)) out.push(`oidc.issuerUrl ${JSON.stringify(a.oidc.issuerUrl)} is not a realm's URL; fix: e.g. https://id.example.com/realms/platform`);
    if (!url(a.oidc.internalRealmUrl) || !/\/realms\/[^/]+$/.test(a.oidc.internalRealmUrl)) out.push(`oidc.internalRealmUrl ${JSON.stringify(a.oidc.internalRealmUrl)} is not a realm's URL inside the swarm; fix: e.g. http://keycloak:8080/realms/platform`);
    out.push(...roleMappingProblems(a.roles ?? DEFAULT_GRAFANA_ROLES, a.realmRoles));
    return out;
}

export class Grafana extends pulumi.ComponentResource {
    public readonly service: Service;
    public readonly serviceName: string;
    /** http://<service>:3000 inside the swarm (the edge's upstream). */
    public readonly internalUrl: string;
    /** The dashboards provisioned, by uid. */
    public readonly dashboards: string[];
    /** The break-glass admin's password (a secret output; people sign in through Keycloak). */
    public readonly adminPassword: pulumi.Output<string>;

    constructor(name: string, args: GrafanaArgs, opts?: pulumi.ComponentResourceOptions) {
        super("swarm:stacks:Grafana", name, {}, opts);
        const problems = grafanaArgsProblems(args);
        if (problems.length) throw new Error(`Grafana ${name}: ${problems.join("; ")}`);
        const conn = { connection: args.connection, privateKey: pulumi.secret(args.privateKey) };
        const nodeConn = { connection: args.nodeConnection, privateKey: conn.privateKey };
        const child = { parent: this, dependsOn: opts?.dependsOn };
        const labels = { "swarm-etl.stack": name };
        const n = (s: string) => `${name}-${s}`;
        this.serviceName = name;
        this.internalUrl = `http://${name}:${GRAFANA_PORT}`;

        const check = new ImageCheck(n("image"), { ...nodeConn, images: [args.image] }, child);
        const data = new Volume(n("data"), { ...nodeConn, name: n("data"), labels }, child);
        const generated = new GeneratedPassword(n("admin-password"), { bytes: 24 }, { parent: this });
        this.adminPassword = pulumi.secret(generated.value);
        const admin = new Secret(n("admin"), { ...conn, name: n("admin"), data: this.adminPassword, labels }, child);
        const client = new Secret(n("oidc"), { ...conn, name: n("oidc"), data: pulumi.secret(args.oidc.clientSecret), labels }, child);
        const ref = (s: Secret, target: string): ServiceSecretRef => ({ secretId: s.secretId, secretName: s.secretName, target, uid: String(GRAFANA_UID), gid: "0", mode: 0o400 });

        const config = (key: string, data: string, target: string) => {
            const c = new Config(n(key), { ...conn, name: n(key), data, labels }, child);
            return { configId: c.configId, configName: c.configName, target, uid: String(GRAFANA_UID), gid: "0", mode: 0o444 };
        };
        const dashboards = platformDashboards();
        this.dashboards = Object.keys(dashboards);
        const configs = [
            config("datasources", renderDatasources(args.datasources), `${PROVISIONING_DIR}/datasources/swarm-etl.yaml`),
            config("dashboard-provider", renderDashboardProvider(), `${PROVISIONING_DIR}/dashboards/swarm-etl.yaml`),
            ...Object.entries(dashboards).map(([uid, d]) => config(`dashboard-${uid.replace(/^swarm-etl-/, "")}`, JSON.stringify(d, null, 2), `${DASHBOARDS_DIR}/${uid}.json`)),
        ];
        const files = { clientSecret: `/run/secrets/${n("oidc")}`, adminPassword: `/run/secrets/${n("admin")}` };
        this.service = new Service(
            name,
            {
                ...conn,
                name,
                image: args.image,
                env: grafanaEnv({ rootUrl: args.rootUrl, oidc: args.oidc, roles: args.roles ?? DEFAULT_GRAFANA_ROLES, files }),
                networks: [...args.networkIds],
                endpointMode: args.endpointMode ?? "vip",
                constraints: [data.constraint],
                mounts: [{ type: "volume", source: n("data"), target: "/var/lib/grafana" }],
                configs,
                secrets: [ref(client, n("oidc")), ref(admin, n("admin"))],
                healthcheck: { test: ["CMD", "wget", "-q", "-O", "/dev/null", `http://127.0.0.1:${GRAFANA_PORT}/api/health`], interval: "15s", timeout: "5s", retries: 3, startPeriod: "60s" },
                restartPolicy: { condition: "any", delay: "5s" },
                stopGracePeriod: "20s",
                // One writer of its SQLite database: the old task stops before the new one starts.
                updateConfig: { parallelism: 1, order: "stop-first" },
                resources: { limits: { cpus: 1, memory: "512M" } },
                labels: { ...labels, "swarm-etl.role": "grafana", "swarm-etl.stateful": "true", "swarm-etl.ui": "true" },
            },
            pulumi.mergeOptions(child, { dependsOn: [check] }),
        );
        this.registerOutputs({ serviceName: this.serviceName, internalUrl: this.internalUrl, dashboards: this.dashboards });
    }
}
