// What Grafana reads (pure): its settings (GF_*: Keycloak's login, the role mapping, nothing
// anonymous), its provisioned data sources (Prometheus, the log store, Jaeger) and the provider of
// the platform's dashboards (components/stacks/observability/dashboards.ts), all read-only in the UI.
import { stringify } from "yaml";
import { PROMETHEUS_DATASOURCE } from "../observability/dashboards";
import type { LogStoreKind } from "../logs/render";

export const GRAFANA_PORT = 3000;
/** The user the Grafana image runs as (its secrets are mounted for it). */
export const GRAFANA_UID = 472;
export const PROVISIONING_DIR = "/etc/grafana/provisioning";
export const DASHBOARDS_DIR = "/etc/grafana/dashboards";
/** The data sources' uids (the dashboards and the links between them use these). */
export const DATASOURCE_UIDS = { prometheus: "prometheus", logs: "logs", traces: "traces" } as const;

/** Grafana's organisation roles, from the realm roles in the token's `roles` claim. */
export interface GrafanaRoleMapping {
    readonly admin: readonly string[];
    readonly editor: readonly string[];
    readonly viewer: readonly string[];
}
/** The platform's defaults: admins administer, engineers edit, analysts and viewers look. */
export const DEFAULT_GRAFANA_ROLES: GrafanaRoleMapping = { admin: ["platform-admin"], editor: ["data-engineer"], viewer: ["analyst", "viewer"] };

const ROLE_RE = /^[A-Za-z0-9_.-]+$/;

/**
 * The JMESPath Grafana evaluates on the ID token (and userinfo) to choose the person's role: the
 * first of Admin, Editor, Viewer whose realm roles the person has; none of them → '' (with
 * role_attribute_strict, Grafana refuses the login).
 */
export function roleAttributePath(m: GrafanaRoleMapping): string {
    const has = (roles: readonly string[]) => roles.map((r) => `contains(roles || \`[]\`, '${r}')`).join(" || ");
    const parts = (
        [
            [m.admin, "Admin"],
            [m.editor, "Editor"],
            [m.viewer, "Viewer"],
        ] as const
    )
        .filter(([roles]) => roles.length > 0)
        .map(([roles, grafana]) => `(${has(roles)}) && '${grafana}'`);
    return `${parts.join(" || ")} || ''`;
}

/** What is wrong with a role mapping, each with its fix. */
export function roleMappingProblems(m: GrafanaRoleMapping, realmRoles?: readonly string[]): string[] {
    const out: string[] = [];
    const all = [...m.admin, ...m.editor, ...m.viewer];
    if (all.length === 0) out.push("roles maps no realm role to a Grafana role, so nobody could sign in; fix: e.g. admin: [platform-admin], viewer: [viewer]");
    for (const r of all) if (!ROLE_RE.test(r)) out.push(`roles: ${JSON.stringify(r)} is not a realm role name; fix: letters, digits, _ . - only`);
    for (const r of all) if (realmRoles && !realmRoles.includes(r)) out.push(`roles: ${JSON.stringify(r)} is not a role of the realm (${realmRoles.join(", ")}); fix: use one of those`);
    const dup = all.find((r, i) => all.indexOf(r) !== i);
    if (dup) out.push(`roles: ${dup} is mapped to more than one Grafana role; fix: keep it under one (admin, editor or viewer)`);
    return out;
}

export interface GrafanaEnvRender {
    /** The URL people open (through the edge), e.g. https://grafana.example.com. */
    readonly rootUrl: string;
    readonly oidc: {
        /** The realm's public URL (the browser is sent there), e.g. https://id.example.com/realms/platform. */
        readonly issuerUrl: string;
        /** The realm's URL inside the swarm (Grafana exchanges the code there). */
        readonly internalRealmUrl: string;
        readonly clientId: string;
    };
    readonly roles: GrafanaRoleMapping;
    /** Where the client secret and the break-glass admin's password are mounted. */
    readonly files: { readonly clientSecret: string; readonly adminPassword: string };
}

/** Grafana's settings: every one of them, none of its secrets (those are files, `__FILE`). */
export function grafanaEnv(r: GrafanaEnvRender): Record<string, string> {
    const oidc = (p: string) => `${r.oidc.internalRealmUrl}/protocol/openid-connect/${p}`;
    const root = r.rootUrl.replace(/\/$/, "");
    return {
        GF_SERVER_HTTP_PORT: String(GRAFANA_PORT),
        GF_SERVER_ROOT_URL: `${root}/`,
        GF_PATHS_PROVISIONING: PROVISIONING_DIR,
        GF_LOG_MODE: "console",
        GF_ANALYTICS_REPORTING_ENABLED: "false",
        GF_ANALYTICS_CHECK_FOR_UPDATES: "false",
        GF_ANALYTICS_CHECK_FOR_PLUGIN_UPDATES: "false",
        GF_SECURITY_COOKIE_SECURE: "true",
        GF_SECURITY_DISABLE_GRAVATAR: "true",
        // The break-glass admin (its password a Swarm secret); people come through Keycloak only.
        GF_SECURITY_ADMIN_USER: "admin",
        GF_SECURITY_ADMIN_PASSWORD__FILE: r.files.adminPassword,
        GF_USERS_ALLOW_SIGN_UP: "false",
        GF_AUTH_ANONYMOUS_ENABLED: "false",
        GF_AUTH_BASIC_ENABLED: "false",
        GF_AUTH_DISABLE_LOGIN_FORM: "true",
        GF_AUTH_SIGNOUT_REDIRECT_URL: `${r.oidc.issuerUrl}/protocol/openid-connect/logout?client_id=${encodeURIComponent(r.oidc.clientId)}&post_logout_redirect_uri=${encodeURIComponent(`${root}/login`)}`,
        GF_AUTH_GENERIC_OAUTH_ENABLED: "true",
        GF_AUTH_GENERIC_OAUTH_NAME: "Keycloak",
        GF_AUTH_GENERIC_OAUTH_AUTO_LOGIN: "true",
        GF_AUTH_GENERIC_OAUTH_ALLOW_SIGN_UP: "true",
        GF_AUTH_GENERIC_OAUTH_CLIENT_ID: r.oidc.clientId,
        GF_AUTH_GENERIC_OAUTH_CLIENT_SECRET__FILE: r.files.clientSecret,
        GF_AUTH_GENERIC_OAUTH_SCOPES: "openid profile email",
        GF_AUTH_GENERIC_OAUTH_USE_PKCE: "true",
        // The browser goes to the public URL; the code is exchanged and the person read inside the swarm.
        GF_AUTH_GENERIC_OAUTH_AUTH_URL: `${r.oidc.issuerUrl}/protocol/openid-connect/auth`,
        GF_AUTH_GENERIC_OAUTH_TOKEN_URL: oidc("token"),
        GF_AUTH_GENERIC_OAUTH_API_URL: oidc("userinfo"),
        GF_AUTH_GENERIC_OAUTH_LOGIN_ATTRIBUTE_PATH: "preferred_username",
        GF_AUTH_GENERIC_OAUTH_NAME_ATTRIBUTE_PATH: "name",
        GF_AUTH_GENERIC_OAUTH_EMAIL_ATTRIBUTE_PATH: "email",
        GF_AUTH_GENERIC_OAUTH_ROLE_ATTRIBUTE_PATH: roleAttributePath(r.roles),
        GF_AUTH_GENERIC_OAUTH_ROLE_ATTRIBUTE_STRICT: "true",
        GF_AUTH_GENERIC_OAUTH_ALLOW_ASSIGN_GRAFANA_ADMIN: "false",
        GF_AUTH_GENERIC_OAUTH_SKIP_ORG_ROLE_SYNC: "false",
    };
}

export interface DatasourcesRender {
    /** http://<prometheus>:9090 */
    readonly prometheusUrl: string;
    /** The log store: its kind and its query URL. @default - none */
    readonly logs?: { readonly kind: LogStoreKind; readonly url: string };
    /** Jaeger's query URL. @default - none */
    readonly tracesUrl?: string;
    /** Prometheus' scrape interval (Grafana's $__rate_interval is four of them). @default - 15s */
    readonly scrapeInterval?: string;
}

/** The data sources, provisioned read-only (a change in the UI is refused; the next deploy is the truth). */
export function renderDatasources(r: DatasourcesRender): string {
    const logsType = r.logs?.kind === "loki" ? "loki" : "victoriametrics-logs-datasource";
    return stringify({
        apiVersion: 1,
        // Data sources no longer listed are removed.
        prune: true,
        datasources: [
            { name: PROMETHEUS_DATASOURCE, uid: DATASOURCE_UIDS.prometheus, type: "prometheus", access: "proxy", url: r.prometheusUrl, isDefault: true, editable: false, jsonData: { timeInterval: r.scrapeInterval ?? "15s", httpMethod: "POST" } },
            ...(r.logs ? [{ name: "Logs", uid: DATASOURCE_UIDS.logs, type: logsType, access: "proxy", url: r.logs.url, editable: false, jsonData: { maxLines: 1000 } }] : []),
            ...(r.tracesUrl
                ? [
                      {
                          name: "Traces",
                          uid: DATASOURCE_UIDS.traces,
                          type: "jaeger",
                          access: "proxy",
                          url: r.tracesUrl,
                          editable: false,
                          // From a span to its service's log lines around it (Loki's labels are the same service.name).
                          jsonData: r.logs?.kind === "loki" ? { tracesToLogsV2: { datasourceUid: DATASOURCE_UIDS.logs, spanStartTimeShift: "-5m", spanEndTimeShift: "5m", tags: [{ key: "service.name", value: "service_name" }] } } : {},
                      },
                  ]
                : []),
        ],
    });
}

/** The provider of the platform's dashboards: files under DASHBOARDS_DIR, in folder swarm-etl, not editable in the UI. */
export function renderDashboardProvider(): string {
    return stringify({
        apiVersion: 1,
        providers: [{ name: "swarm-etl", orgId: 1, folder: "swarm-etl", type: "file", disableDeletion: true, allowUiUpdates: false, updateIntervalSeconds: 60, options: { path: DASHBOARDS_DIR, foldersFromFilesStructure: false } }],
    });
}
