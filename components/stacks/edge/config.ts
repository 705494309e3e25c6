// The `swarm-etl:edge` slice of the stack config (zod): the one entrance, its domain and port, its
// TLS, and which roles may use each UI. The UIs are those the stack deploys (EDGE_UIS); the
// defaults that depend on the rest of the config (on with identity; the lab's domain and port)
// are applied by `resolveEdge`, and problems that need the rest of the config (a UI not deployed,
// a role the realm does not have) are reported by the stack schema under their keys.
import { z } from "zod";
import { EDGE_IMAGES, edgeArgsProblems } from "./edge";
import { EDGE_PORT, hostUrl } from "./render";

/** The lab's domain: names the machine resolves for its browser only (no DNS needed). */
export const LAB_DOMAIN = "lab.swarm-etl.test";

/** The realm client the edge signs people in with (made by the program with the edge). */
export const EDGE_CLIENT_ID = "edge";

/** The UIs the platform has, what deploys each, and who may use it unless `edge.uis` says otherwise. */
export const EDGE_UIS = {
    id: { what: "Keycloak's admin console", needs: "identity", roles: ["platform-admin"] },
    spark: { what: "the Spark master's UI", needs: "spark", roles: ["platform-admin", "data-engineer"] },
    "spark-history": { what: "the Spark history server", needs: "spark", roles: ["platform-admin", "data-engineer", "analyst"] },
    prometheus: { what: "Prometheus' UI (metrics, alerts, targets)", needs: "observability", roles: ["platform-admin", "data-engineer"] },
    alertmanager: { what: "Alertmanager's UI (alerts, silences)", needs: "observability", roles: ["platform-admin", "data-engineer"] },
    logs: { what: "VictoriaLogs' UI (the lab's log store; Loki has none: Grafana reads it)", needs: "logs-ui", roles: ["platform-admin", "data-engineer"] },
    traces: { what: "Jaeger's UI and query API", needs: "traces", roles: ["platform-admin", "data-engineer"] },
    grafana: { what: "Grafana (it maps the realm's roles to its own)", needs: "grafana", roles: ["platform-admin", "data-engineer", "analyst", "viewer"] },
} as const;
export type EdgeUiName = keyof typeof EDGE_UIS;
/** What deploys a UI: its part of the config. */
export type EdgeUiPart = (typeof EDGE_UIS)[EdgeUiName]["needs"];

const uiSchema = z.strictObject({
    /** The realm roles that may use the UI (every other signed-in person gets 403). */
    roles: z.array(z.string()).min(1, { message: "lists no role, so nobody could use the UI; fix: list the roles that may, e.g. [platform-admin]" }),
});

export const edgeConfigSchema = z.strictObject({
    /** Deploy the edge (needs identity). @default - with identity, where the domain is known (the lab's, or edge.domain) */
    enabled: z.boolean().optional(),
    /** The UIs' parent domain: each UI is https://<ui>.<domain>[:port]. @default - lab: lab.swarm-etl.test; else required */
    domain: z.string().optional(),
    /** The published port. @default - lab: 8443, else 443 */
    port: z.number({ message: "must be a TCP port; fix: 443 (8443 in the lab)" }).int({ message: "must be a TCP port; fix: 443" }).min(1).max(65535).optional(),
    /** nginx replicas behind the routing mesh (real clusters; the lab runs one per manager). @default - 2 */
    replicas: z.number().int().min(1).max(9).default(2),
    /** The certificate (PEM, chain after it) and its key (a config secret). @default - one the stack generates; its certificate is the `edgeCertificate` output */
    tls: z.strictObject({ certificate: z.string(), privateKey: z.string() }).optional(),
    /** Who may use each UI, by UI name (id, spark, spark-history). @default - EDGE_UIS */
    uis: z.record(z.string(), uiSchema).default({}),
    /** How long a session lives. @default - 8h */
    cookieExpire: z.string().default("8h"),
    /** How often the edge checks a session with Keycloak (a logout there takes effect within it). @default - 60s */
    cookieRefresh: z.string().default("60s"),
});

export type EdgeConfig = z.output<typeof edgeConfigSchema>;
export type ResolvedEdgeConfig = Omit<EdgeConfig, "domain" | "port"> & { enabled: boolean; domain: string; port: number };

export function resolveEdge(edge: EdgeConfig, identityEnabled: boolean, profile: string): ResolvedEdgeConfig {
    const domainKnown = edge.domain !== undefined || profile === "lab";
    return { ...edge, enabled: edge.enabled ?? (identityEnabled && domainKnown), domain: edge.domain ?? (profile === "lab" ? LAB_DOMAIN : ""), port: edge.port ?? (profile === "lab" ? EDGE_PORT : 443) };
}

/** The roles of each UI the stack deploys: config over the defaults. */
export function edgeUiRoles(edge: Pick<EdgeConfig, "uis">, deployed: Partial<Record<EdgeUiPart, boolean>>): Record<string, string[]> {
    return Object.fromEntries(
        (Object.entries(EDGE_UIS) as [EdgeUiName, (typeof EDGE_UIS)[EdgeUiName]][])
            .filter(([, u]) => deployed[u.needs] === true)
            .map(([name, u]) => [name, [...(edge.uis[name]?.roles ?? u.roles)]]),
    );
}

/** Keycloak's public URL behind the edge: identity.hostname when set (the edge serves that host), else id.<domain>. */
export const edgeKeycloakUrl = (edge: Pick<ResolvedEdgeConfig, "domain" | "port">, identityHostname?: string) => identityHostname?.replace(/\/$/, "") ?? hostUrl("id", edge.domain, edge.port);

/** The config that leaves each part out, for the messages. */
const PART_KEYS: Record<EdgeUiPart, string> = {
    identity: "identity.enabled is false",
    spark: "spark.enabled is false",
    observability: "observability.enabled is false",
    "logs-ui": "observability.logs is off, or its store is Loki, which has no UI",
    traces: "observability.traces is off",
    grafana: "observability.grafana is off, as it always is in the lab",
};

/** Every problem of the slice that needs the rest of the config, as `[path under edge, message]`. */
export function edgeStackProblems(
    edge: ResolvedEdgeConfig,
    ctx: { identityEnabled: boolean; deployed: Partial<Record<EdgeUiPart, boolean>>; roles: readonly string[]; images: Record<string, string>; profile: string },
): [(string | number)[], string][] {
    if (!edge.enabled) return [];
    const out: [(string | number)[], string][] = [];
    if (!ctx.identityEnabled) out.push([["enabled"], "the edge signs people in with Keycloak, but identity is not enabled; fix: enable identity, or set edge.enabled false"]);
    if (!edge.domain) out.push([["domain"], "is not set; fix: the domain whose hosts reach the managers, e.g. platform.example.com (the UIs are id.<domain>, spark.<domain>, …)"]);
    for (const p of edgeArgsProblems({ domain: edge.domain || "example.com", port: edge.port, replicas: edge.replicas, cookieExpire: edge.cookieExpire, cookieRefresh: edge.cookieRefresh, uis: [] })) {
        const key = (["domain", "port", "replicas", "cookieExpire", "cookieRefresh"] as const).find((k) => p.startsWith(`${k} `));
        if (key) out.push([[key], p.slice(key.length + 1)]);
    }
    for (const [name, ui] of Object.entries(edge.uis)) {
        const known = EDGE_UIS[name as EdgeUiName];
        if (!known) {
            out.push([["uis", name], `is not a UI of the platform (${Object.keys(EDGE_UIS).join(", ")}); fix: use one of those names, or remove it`]);
            continue;
        }
        if (ctx.deployed[known.needs] !== true) out.push([["uis", name], `${known.what} is not deployed (${PART_KEYS[known.needs]}); fix: remove edge.uis.${name}, or enable it`]);
        ui.roles.forEach((r, i) => {
            if (!ctx.roles.includes(r)) out.push([["uis", name, "roles", i], `${JSON.stringify(r)} is not a role of the realm (${ctx.roles.join(", ")}); fix: use one of those`]);
        });
        const dup = ui.roles.find((r, i) => ui.roles.indexOf(r) !== i);
        if (dup) out.push([["uis", name, "roles"], `lists ${dup} more than once; fix: keep one`]);
    }
    if (edge.tls) {
        if (!/^-----BEGIN CERTIFICATE-----/.test(edge.tls.certificate.trim())) out.push([["tls", "certificate"], "is not a PEM certificate; fix: the certificate (-----BEGIN CERTIFICATE-----…), its chain after it"]);
        if (!/^-----BEGIN (?:RSA |EC )?PRIVATE KEY-----/.test(edge.tls.privateKey.trim())) out.push([["tls", "privateKey"], "is not a PEM private key; fix: set it with `pulumi config set --secret --path edge.tls.privateKey` from the key file"]);
    }
    for (const image of Object.values(EDGE_IMAGES)) {
        const ref = ctx.images[image];
        if (!ref) out.push([["images", image], "is not set, and the edge is enabled; fix: run `images/build.sh --registry <registry> --via <manager> --stack <stack>` (the lab: `images/build.sh --lab`), which records it"]);
        else if (ctx.profile !== "lab" && !/@sha256:[0-9a-f]{64}$/.test(ref)) out.push([["images", image], `${JSON.stringify(ref)} is not pinned by digest; fix: use the reference images/build.sh recorded (<registry>/<repo>@sha256:…)`]);
    }
    return out;
}
