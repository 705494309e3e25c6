// The edge's rendering (nginx.conf, oauth2-proxy's arguments), its argument checks and its config
// slice. The lab test (tests/lab/platform/edge.ts, in the platform suite) runs what is rendered here with a real browser.
import { edgeArgsProblems } from "../../components/stacks/edge/edge";
import { oauth2ProxyArgs, renderNginxConf } from "../../components/stacks/edge/render";
import { parseStackConfig } from "../../config/schema";
import { configProblems, labConfig } from "./mocks";

const render = {
    name: "edge",
    domain: "lab.swarm-etl.test",
    port: 8443,
    uis: [
        { name: "id", upstream: "http://keycloak:8080", roles: ["platform-admin"], publicPaths: ["/realms/", "/resources/"] },
        { name: "spark", upstream: "http://spark-master:8080", roles: ["platform-admin", "data-engineer"] },
    ],
    oidc: { issuerUrl: "https://id.lab.swarm-etl.test:8443/realms/platform", internalRealmUrl: "http://keycloak:8080/realms/platform", clientId: "edge" },
};

describe("the edge's nginx.conf", () => {
    const conf = renderNginxConf(render);

    test("one TLS server per UI host, each request asking oauth2-proxy about that UI's roles", () => {
        expect(conf).toContain("server_name spark.lab.swarm-etl.test;");
        expect(conf).toContain("server_name id.lab.swarm-etl.test;");
        expect(conf).toContain("server_name auth.lab.swarm-etl.test;");
        expect(conf).toContain("proxy_pass $edge_auth/oauth2/auth?allowed_groups=platform-admin%2Cdata-engineer;");
        expect(conf).toContain("proxy_pass $edge_auth/oauth2/auth?allowed_groups=platform-admin;");
        expect(conf).toContain("ssl_certificate /run/secrets/edge-tls.pem;");
        expect(conf.match(/listen 8443 ssl/g)).toHaveLength(4);
        // No session: to the login, back to where the person was going; a role not allowed: the edge's 403 page.
        expect(conf).toContain("return 302 https://auth.lab.swarm-etl.test:8443/oauth2/start?rd=https://$http_host$request_uri;");
        expect(conf).toContain("error_page 403 = @edge_forbidden;");
        expect(conf).toContain("spark is open to platform-admin, data-engineer only");
    });

    test("Keycloak's login pages are public paths of its host; nothing else skips the check; unknown hosts get 421", () => {
        const id = conf.slice(conf.indexOf("server_name id."), conf.indexOf("server_name spark."));
        expect(id).toContain("location ^~ /realms/ {");
        expect(id).toContain("location ^~ /resources/ {");
        expect(conf.match(/location \^~/g)).toHaveLength(2);
        expect(conf).toContain("listen 8443 ssl default_server;");
        expect(conf).toContain("location / { return 421; }");
    });

    test("upstreams are resolved at request time through the swarm's DNS (a UI that is not up yet does not stop nginx)", () => {
        expect(conf).toContain("resolver 127.0.0.11 valid=10s ipv6=off;");
        expect(conf).toContain("set $edge_upstream http://spark-master:8080;");
        expect(conf).not.toMatch(/proxy_pass http:\/\//);
    });

    test("a UI with its own host (identity.hostname) is served under that name", () => {
        const c = renderNginxConf({ ...render, uis: [{ ...render.uis[0], host: "sso.example.org" }] });
        expect(c).toContain("server_name sso.example.org;");
    });
});

describe("oauth2-proxy's arguments", () => {
    const args = oauth2ProxyArgs(render);

    test("OIDC against the realm: the browser to the public URL, the code exchange and the keys inside the swarm, PKCE, roles as groups", () => {
        expect(args).toEqual(
            expect.arrayContaining([
                "--provider=oidc",
                "--client-id=edge",
                "--oidc-issuer-url=https://id.lab.swarm-etl.test:8443/realms/platform",
                "--login-url=https://id.lab.swarm-etl.test:8443/realms/platform/protocol/openid-connect/auth",
                "--redeem-url=http://keycloak:8080/realms/platform/protocol/openid-connect/token",
                "--oidc-jwks-url=http://keycloak:8080/realms/platform/protocol/openid-connect/certs",
                "--backend-logout-url=http://keycloak:8080/realms/platform/protocol/openid-connect/logout?id_token_hint={id_token}",
                "--code-challenge-method=S256",
                "--oidc-groups-claim=roles",
                "--redirect-url=https://auth.lab.swarm-etl.test:8443/oauth2/callback",
                "--cookie-domain=.lab.swarm-etl.test",
                "--whitelist-domain=.lab.swarm-etl.test:*",
                "--cookie-secure=true",
                "--cookie-refresh=60s",
            ]),
        );
    });

    test("its secrets are files, never values", () => {
        expect(args).toContain("--client-secret-file=/run/secrets/edge-client-secret");
        expect(args).toContain("--cookie-secret-file=/run/secrets/edge-cookie-secret");
        expect(args.some((a) => /^--(client-secret|cookie-secret)=/.test(a))).toBe(false);
    });
});

describe("the edge's arguments", () => {
    test("valid arguments pass", () => {
        expect(edgeArgsProblems(render)).toEqual([]);
    });

    test("a bad domain, port and duration, a UI named like the login host, twice, with a bad upstream, no role, a bad public path: each with its fix", () => {
        expect(
            edgeArgsProblems({
                domain: "Lab",
                port: 70000,
                cookieRefresh: "1 minute",
                uis: [
                    { name: "auth", upstream: "http://a:1", roles: ["viewer"] },
                    { name: "spark", upstream: "spark:8080", roles: [] },
                    { name: "spark", upstream: "http://spark:8080", roles: ["viewer"], publicPaths: ["/"] },
                ],
            }),
        ).toEqual([
            'domain "Lab" is not a lower-case DNS domain of two labels or more; fix: e.g. platform.example.com (its UIs are <ui>.platform.example.com)',
            "port 70000 is not a TCP port; fix: 443, or 8443 (the lab)",
            'cookieRefresh "1 minute" is not a duration of seconds, minutes or hours; fix: e.g. 60s, 8h',
            "uis[0]: name auth is the edge's own login host; fix: name the UI otherwise",
            'uis[1] (spark): upstream "spark:8080" is not http://<service>:<port>; fix: the UI\'s service name and port inside the swarm',
            "uis[1] (spark): no role may use it; fix: list the roles that may, e.g. [platform-admin]",
            "uis[2]: spark is declared more than once; fix: keep one",
            'uis[2] (spark): public path "/" is not a path prefix below /; fix: e.g. /realms/',
        ]);
    });
});

describe("the edge slice of the stack config", () => {
    test("the lab: on with identity, at lab.swarm-etl.test:8443, the default role of each UI", () => {
        expect(parseStackConfig(labConfig()).edge).toMatchObject({ enabled: true, domain: "lab.swarm-etl.test", port: 8443, replicas: 2, uis: {} });
    });

    test("dev and prod: off until a domain is set; on with it, at port 443", () => {
        expect(parseStackConfig(labConfig({ profile: "dev", observability: { enabled: false } })).edge.enabled).toBe(false);
        expect(parseStackConfig(labConfig({ profile: "dev", edge: { domain: "dev.example.com" }, observability: { enabled: false } })).edge).toMatchObject({ enabled: true, domain: "dev.example.com", port: 443 });
        expect(configProblems(labConfig({ profile: "dev", edge: { enabled: true }, observability: { enabled: false } }))).toEqual([
            "swarm-etl:edge.domain: is not set; fix: the domain whose hosts reach the managers, e.g. platform.example.com (the UIs are id.<domain>, spark.<domain>, …)",
        ]);
    });

    test("an unknown UI, an unknown role, a role twice, a UI whose stack is off, no role: each under its key, with the fix", () => {
        expect(
            configProblems(
                labConfig({ edge: { uis: { kibana: { roles: ["viewer"] }, grafana: { roles: ["viewer"] }, spark: { roles: ["admin", "viewer", "viewer"] } } } }),
            ),
        ).toEqual([
            "swarm-etl:edge.uis.kibana: is not a UI of the platform (id, spark, spark-history, prometheus, alertmanager, logs, traces, grafana); fix: use one of those names, or remove it",
            "swarm-etl:edge.uis.grafana: Grafana (it maps the realm's roles to its own) is not deployed (observability.grafana is off, as it always is in the lab); fix: remove edge.uis.grafana, or enable it",
            'swarm-etl:edge.uis.spark.roles[0]: "admin" is not a role of the realm (platform-admin, data-engineer, analyst, viewer); fix: use one of those',
            "swarm-etl:edge.uis.spark.roles: lists viewer more than once; fix: keep one",
        ]);
        expect(configProblems(labConfig({ spark: { enabled: false }, etl: { enabled: false }, edge: { uis: { spark: { roles: ["viewer"] } } } }))).toEqual([
            "swarm-etl:edge.uis.spark: the Spark master's UI is not deployed (spark.enabled is false); fix: remove edge.uis.spark, or enable it",
        ]);
        expect(configProblems(labConfig({ edge: { uis: { spark: { roles: [] } } } }))[0]).toBe("swarm-etl:edge.uis.spark.roles: [] lists no role, so nobody could use the UI; fix: list the roles that may, e.g. [platform-admin]");
    });

    test("TLS from config must be PEM; the key is never echoed", () => {
        const problems = configProblems(labConfig({ edge: { tls: { certificate: "not a cert", privateKey: "hunter2-not-a-key" } } }));
        expect(problems).toEqual([
            "swarm-etl:edge.tls.certificate: is not a PEM certificate; fix: the certificate (-----BEGIN CERTIFICATE-----…), its chain after it",
            "swarm-etl:edge.tls.privateKey: is not a PEM private key; fix: set it with `pulumi config set --secret --path edge.tls.privateKey` from the key file",
        ]);
        expect(problems.join("\n")).not.toContain("hunter2");
    });

    test("the edge without identity is refused; its images missing are named", () => {
        expect(configProblems(labConfig({ identity: { enabled: false }, edge: { enabled: true } }))).toEqual([
            "swarm-etl:edge.enabled: the edge signs people in with Keycloak, but identity is not enabled; fix: enable identity, or set edge.enabled false",
        ]);
        const { "edge-proxy": _p, ...images } = labConfig().images as Record<string, string>;
        expect(configProblems(labConfig({ images }))).toEqual([
            "swarm-etl:images.edge-proxy: is not set, and the edge is enabled; fix: run `images/build.sh --registry <registry> --via <manager> --stack <stack>` (the lab: `images/build.sh --lab`), which records it",
        ]);
    });
});
