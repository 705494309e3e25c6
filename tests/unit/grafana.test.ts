// Grafana for real clusters (it is AGPL and never runs here): the role mapping evaluated by a
// JMESPath implementation of the same specification Grafana's go-jmespath implements, the settings
// (Keycloak's login, nothing anonymous, no secret in them), the provisioned data sources and
// dashboards, the arguments' problems, and the component's graph under Pulumi mocks.
import * as pulumi from "@pulumi/pulumi";
import { search } from "jmespath";
import { parse } from "yaml";
import { Grafana, grafanaArgsProblems } from "../../components/stacks/grafana/grafana";
import { DEFAULT_GRAFANA_ROLES, grafanaEnv, renderDashboardProvider, renderDatasources, roleAttributePath, roleMappingProblems } from "../../components/stacks/grafana/render";
import { PROMETHEUS_DATASOURCE, platformDashboards } from "../../components/stacks/observability/dashboards";
import { DEFAULT_ROLES } from "../../components/stacks/identity/realm";
import { installMocks, Registered, valueOf } from "./mocks";

const REALM_ROLES = DEFAULT_ROLES.map((r) => r.name);
const oidc = { issuerUrl: "https://id.example.com/realms/platform", internalRealmUrl: "http://kc:8080/realms/platform", clientId: "grafana" };

describe("Grafana's role from the realm role", () => {
    const path = roleAttributePath(DEFAULT_GRAFANA_ROLES);
    const role = (claims: object) => search(claims, path) as string;

    test("platform admins administer, data engineers edit, analysts and viewers look; the highest role wins", () => {
        expect(role({ roles: ["platform-admin"] })).toBe("Admin");
        expect(role({ roles: ["viewer", "platform-admin"] })).toBe("Admin");
        expect(role({ roles: ["data-engineer"] })).toBe("Editor");
        expect(role({ roles: ["analyst", "data-engineer"] })).toBe("Editor");
        expect(role({ roles: ["analyst"] })).toBe("Viewer");
        expect(role({ roles: ["viewer"] })).toBe("Viewer");
    });

    test("no mapped role, no roles claim at all: '' (with role_attribute_strict, Grafana refuses the login)", () => {
        expect(role({ roles: ["someone-else"] })).toBe("");
        expect(role({ roles: [] })).toBe("");
        expect(role({ preferred_username: "x" })).toBe("");
        expect(grafanaEnv({ rootUrl: "https://g.example.com", oidc, roles: DEFAULT_GRAFANA_ROLES, files: { clientSecret: "/s/c", adminPassword: "/s/a" } }).GF_AUTH_GENERIC_OAUTH_ROLE_ATTRIBUTE_STRICT).toBe("true");
    });

    test("a mapping of config: only viewers, nobody edits", () => {
        const p = roleAttributePath({ admin: ["platform-admin"], editor: [], viewer: ["viewer", "analyst", "data-engineer"] });
        expect(search({ roles: ["data-engineer"] }, p)).toBe("Viewer");
        expect(search({ roles: ["platform-admin"] }, p)).toBe("Admin");
    });

    test("a mapping's problems name the role and the fix", () => {
        expect(roleMappingProblems(DEFAULT_GRAFANA_ROLES, REALM_ROLES)).toEqual([]);
        expect(roleMappingProblems({ admin: [], editor: [], viewer: [] })).toEqual(["roles maps no realm role to a Grafana role, so nobody could sign in; fix: e.g. admin: [platform-admin], viewer: [viewer]"]);
        expect(roleMappingProblems({ admin: ["platform-admin"], editor: ["platform-admin"], viewer: ["auditor"] }, REALM_ROLES)).toEqual([
            `roles: "auditor" is not a role of the realm (${REALM_ROLES.join(", ")}); fix: use one of those`,
            "roles: platform-admin is mapped to more than one Grafana role; fix: keep it under one (admin, editor or viewer)",
        ]);
        expect(roleMappingProblems({ admin: ["x' || 'Admin"], editor: [], viewer: [] })[0]).toMatch(/is not a realm role name/);
    });
});

describe("Grafana's settings", () => {
    const env = grafanaEnv({ rootUrl: "https://grafana.example.com/", oidc, roles: DEFAULT_GRAFANA_ROLES, files: { clientSecret: "/run/secrets/g-oidc", adminPassword: "/run/secrets/g-admin" } });

    test("people sign in through Keycloak only (PKCE, auto login), nobody anonymous, no basic auth, no sign-up form", () => {
        expect(env).toMatchObject({
            GF_AUTH_GENERIC_OAUTH_ENABLED: "true",
            GF_AUTH_GENERIC_OAUTH_USE_PKCE: "true",
            GF_AUTH_GENERIC_OAUTH_AUTO_LOGIN: "true",
            GF_AUTH_DISABLE_LOGIN_FORM: "true",
            GF_AUTH_ANONYMOUS_ENABLED: "false",
            GF_AUTH_BASIC_ENABLED: "false",
            GF_USERS_ALLOW_SIGN_UP: "false",
            GF_SECURITY_COOKIE_SECURE: "true",
            GF_SERVER_ROOT_URL: "https://grafana.example.com/",
        });
        // The browser to the public URL; the code exchanged and the person read inside the swarm.
        expect(env.GF_AUTH_GENERIC_OAUTH_AUTH_URL).toBe("https://id.example.com/realms/platform/protocol/openid-connect/auth");
        expect(env.GF_AUTH_GENERIC_OAUTH_TOKEN_URL).toBe("http://kc:8080/realms/platform/protocol/openid-connect/token");
        expect(env.GF_AUTH_GENERIC_OAUTH_API_URL).toBe("http://kc:8080/realms/platform/protocol/openid-connect/userinfo");
        expect(env.GF_AUTH_SIGNOUT_REDIRECT_URL).toBe("https://id.example.com/realms/platform/protocol/openid-connect/logout?client_id=grafana&post_logout_redirect_uri=https%3A%2F%2Fgrafana.example.com%2Flogin");
    });

    test("its secrets are files (__FILE), never values", () => {
        expect(env.GF_AUTH_GENERIC_OAUTH_CLIENT_SECRET__FILE).toBe("/run/secrets/g-oidc");
        expect(env.GF_SECURITY_ADMIN_PASSWORD__FILE).toBe("/run/secrets/g-admin");
        expect(Object.keys(env).filter((k) => /SECRET|PASSWORD/.test(k) && !k.endsWith("__FILE"))).toEqual([]);
    });
});

describe("what Grafana is provisioned with", () => {
    test("Prometheus (the name the dashboards' variable selects, the default), the log store by its kind, Jaeger; read-only, pruned", () => {
        const loki = parse(renderDatasources({ prometheusUrl: "http://p:9090", logs: { kind: "loki", url: "http://l:3100" }, tracesUrl: "http://j:16686" }));
        expect(loki.prune).toBe(true);
        expect(loki.datasources.map((d: { name: string; type: string; uid: string; url: string }) => `${d.name}:${d.type}:${d.uid}:${d.url}`)).toEqual([
            `${PROMETHEUS_DATASOURCE}:prometheus:prometheus:http://p:9090`,
            "Logs:loki:logs:http://l:3100",
            "Traces:jaeger:traces:http://j:16686",
        ]);
        expect(loki.datasources.every((d: { editable: boolean }) => d.editable === false)).toBe(true);
        expect(loki.datasources[0].isDefault).toBe(true);
        expect(loki.datasources[2].jsonData.tracesToLogsV2.datasourceUid).toBe("logs");
        const vl = parse(renderDatasources({ prometheusUrl: "http://p:9090", logs: { kind: "victorialogs", url: "http://v:9428" } }));
        expect(vl.datasources.map((d: { type: string }) => d.type)).toEqual(["prometheus", "victoriametrics-logs-datasource"]);
        expect(parse(renderDatasources({ prometheusUrl: "http://p:9090" })).datasources).toHaveLength(1);
    });

    test("every dashboard selects the provisioned Prometheus by its variable", () => {
        for (const d of Object.values(platformDashboards())) {
            const v = (d.templating?.list ?? []).find((x) => x.name === "datasource");
            expect(v?.query).toBe("prometheus");
            expect((v?.current as { value?: string })?.value).toBe(PROMETHEUS_DATASOURCE);
        }
        const p = parse(renderDashboardProvider()).providers[0];
        expect(p).toMatchObject({ type: "file", folder: "swarm-etl", disableDeletion: true, allowUiUpdates: false, options: { path: "/etc/grafana/dashboards" } });
    });
});

describe("the Grafana component (mocks)", () => {
    const conn = { name: "mgr2", host: "198.18.20.12", port: 22, user: "root", hostKey: "k" } as never;
    const args = (over: Partial<ConstructorParameters<typeof Grafana>[1]> = {}): ConstructorParameters<typeof Grafana>[1] => ({
        connection: conn,
        privateKey: "key",
        node: "mgr2",
        nodeConnection: conn,
        image: "registry.example.com/grafana/grafana@sha256:" + "a".repeat(64),
        rootUrl: "https://grafana.example.com",
        networkIds: ["net-obs", "net-logs", "net-kc"],
        datasources: { prometheusUrl: "http://obs-prometheus:9090", logs: { kind: "loki", url: "http://logs-store:3100" }, tracesUrl: "http://traces-jaeger:16686" },
        oidc: { ...oidc, clientSecret: "the-client-secret" },
        realmRoles: REALM_ROLES,
        ...over,
    });
    const svc = (registered: Registered[], name: string) => registered.find((r) => r.type === "pulumi-nodejs:dynamic/swarm:Service" && r.name === name)!.inputs as Record<string, any>;

    test("one Grafana on its data's node, its dashboards and data sources as Swarm configs, its secrets mounted for its user, none in its spec", async () => {
        const registered = installMocks();
        const g = new Grafana("grafana", args());
        await valueOf(pulumi.output(g.service.urn));
        const s = svc(registered, "grafana");
        expect(s.networks).toEqual(["net-obs", "net-logs", "net-kc"]);
        expect(s.mounts).toEqual([{ type: "volume", source: "grafana-data", target: "/var/lib/grafana" }]);
        expect(s.constraints).toHaveLength(1);
        expect(s.updateConfig.order).toBe("stop-first");
        expect(s.secrets.map((x: { target: string; uid: string; mode: number }) => `${x.target}:${x.uid}:${x.mode.toString(8)}`).sort()).toEqual(["grafana-admin:472:400", "grafana-oidc:472:400"]);
        expect(JSON.stringify(s)).not.toContain("the-client-secret");
        const targets = s.configs.map((c: { target: string }) => c.target).sort();
        expect(targets).toEqual(["/etc/grafana/provisioning/dashboards/swarm-etl.yaml", "/etc/grafana/provisioning/datasources/swarm-etl.yaml", ...Object.keys(platformDashboards()).map((u) => `/etc/grafana/dashboards/${u}.json`)].sort());
        // Each dashboard's config is the dashboard the SDK builds.
        for (const [uid, d] of Object.entries(platformDashboards())) {
            const c = registered.find((r) => r.type === "pulumi-nodejs:dynamic/swarm:Config" && r.name === `grafana-dashboard-${uid.replace(/^swarm-etl-/, "")}`)!;
            expect(JSON.parse(String(c.inputs.data))).toEqual(JSON.parse(JSON.stringify(d)));
        }
        expect(g.dashboards.length).toBe(Object.keys(platformDashboards()).length);
        expect(s.labels).toMatchObject({ "swarm-etl.ui": "true", "swarm-etl.stateful": "true" });
    });

    test("bad arguments fail before anything is made, each naming the value and the fix", () => {
        installMocks();
        expect(grafanaArgsProblems({ rootUrl: "http://grafana.example.com", oidc: { ...oidc, issuerUrl: "https://id.example.com" }, roles: { admin: ["root"], editor: [], viewer: [] }, realmRoles: REALM_ROLES })).toEqual([
            'rootUrl "http://grafana.example.com" is not https: Grafana\'s session cookie is Secure; fix: the edge\'s https URL, e.g. https://grafana.example.com',
            'oidc.issuerUrl "https://id.example.com" is not a realm\'s URL; fix: e.g. https://id.example.com/realms/platform',
            `roles: "root" is not a role of the realm (${REALM_ROLES.join(", ")}); fix: use one of those`,
        ]);
        expect(() => new Grafana("bad", args({ rootUrl: "grafana" }))).toThrow(/rootUrl "grafana" is not the URL people open; fix: e\.g\. https:\/\/grafana\.example\.com/);
    });
});
