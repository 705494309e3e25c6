// Edge: the platform's one entrance. nginx (components/stacks/edge/images/proxy) ends TLS on the
// managers' published port and routes by host (<ui>.<domain>) to each UI inside the swarm, every
// request first checked by oauth2-proxy (images/auth) against the UI's allowed roles: no session
// → Keycloak's login page, a role that is not allowed → 403. render.ts has the configuration.
//
// TLS: a certificate and key from config, or an identity the stack generates (a Swarm secret made
// by the provider: its key exists only in Docker) whose certificate is an output, so a client can
// trust it. The OIDC client secret and the cookie secret are Swarm secrets too, read from files.
// In the lab the port is published in host mode on each manager (one nginx per manager, `global`
// on the managers); on real clusters through the routing mesh (ingress, `replicas`).
import * as pulumi from "@pulumi/pulumi";
import { Config, HostConnection, Network, Secret, Service } from "../../../providers/swarm";
import type { MetricsTarget, TlsProbe } from "../observability/render";
import { AUTH_HOST, AUTH_METRICS_PORT, AUTH_PORT, EDGE_PORT, EdgeUiRender, hostUrl, oauth2ProxyArgs, originOf, renderNginxConf, RESERVED_HOSTS, secretFiles } from "./render";

/** The images, by their names in `swarm-etl:images`. */
export const EDGE_IMAGES = { proxy: "edge-proxy", auth: "edge-auth" } as const;
const NGINX_UID = "33"; // www-data in Debian
const OAUTH2_PROXY_UID = "10003";

export interface EdgeUi extends EdgeUiRender {
    /** A network the UI's service is on (the edge joins it). @default - the edge's own network (the UI's service joins that) */
    readonly networkId?: pulumi.Input<string>;
}

export interface EdgeArgs {
    readonly connection: HostConnection;
    readonly privateKey: pulumi.Input<string>;
    readonly images: { readonly proxy: pulumi.Input<string>; readonly auth: pulumi.Input<string> };
    /** The UIs' parent domain: each is https://<ui>.<domain>:<port>. */
    readonly domain: string;
    /** The port people use. @default - 8443 */
    readonly port?: number;
    /** host: one nginx per manager, each publishing the port on its node (the lab); ingress: the routing mesh. @default - ingress */
    readonly publishMode?: "ingress" | "host";
    /** nginx replicas with ingress. @default - 2 */
    readonly replicas?: number;
    readonly uis: readonly EdgeUi[];
    /** The certificate (PEM, its chain after it) and its key (a secret). @default - an identity the stack generates for <domain> and *.<domain> */
    readonly tls?: { readonly certificate: string; readonly privateKey: pulumi.Input<string> };
    readonly oidc: {
        /** The Keycloak network (oauth2-proxy exchanges codes there). */
        readonly networkId: pulumi.Input<string>;
        readonly issuerUrl: string;
        readonly internalRealmUrl: string;
        readonly clientId: string;
        /** The client's secret, as Keycloak generated it (a secret output). */
        readonly clientSecret: pulumi.Input<string>;
    };
    /** @default - 8h */
    readonly cookieExpire?: string;
    /** @default - 60s */
    readonly cookieRefresh?: string;
    readonly endpointMode?: "vip" | "dnsrr";
    /** @default - true */
    readonly encrypted?: boolean;
}

const HOST_LABEL_RE = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const DOMAIN_RE = /^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$/;
const UPSTREAM_RE = /^http:\/\/[a-z0-9][a-z0-9_.-]*:\d{1,5}$/;
const PATH_RE = /^\/[A-Za-z0-9._~/-]*$/;
const DURATION_RE = /^\d+(?:s|m|h)$/;

/** What is wrong with the arguments, each with its fix (the stack's config reports them under their keys first). */
export function edgeArgsProblems(a: Pick<EdgeArgs, "domain" | "port" | "replicas" | "cookieExpire" | "cookieRefresh"> & { uis: readonly EdgeUiRender[] }): string[] {
    const out: string[] = [];
    if (!DOMAIN_RE.test(a.domain)) out.push(`domain ${JSON.stringify(a.domain)} is not a lower-case DNS domain of two labels or more; fix: e.g. platform.example.com (its UIs are <ui>.platform.example.com)`);
    const port = a.port ?? EDGE_PORT;
    if (!Number.isInteger(port) || port < 1 || port > 65535) out.push(`port ${port} is not a TCP port; fix: 443, or 8443 (the lab)`);
    if (a.replicas !== undefined && (!Number.isInteger(a.replicas) || a.replicas < 1 || a.replicas > 9)) out.push(`replicas ${a.replicas} is not a whole number from 1 to 9; fix: 2`);
    for (const [k, v] of [["cookieExpire", a.cookieExpire], ["cookieRefresh", a.cookieRefresh]] as const)
        if (v !== undefined && !DURATION_RE.test(v)) out.push(`${k} ${JSON.stringify(v)} is not a duration of seconds, minutes or hours; fix: e.g. 60s, 8h`);
    const names = a.uis.map((u) => u.name);
    a.uis.forEach((u, i) => {
        if (!HOST_LABEL_RE.test(u.name)) out.push(`uis[${i}]: name ${JSON.stringify(u.name)} is not a DNS label (its host is <name>.<domain>); fix: lower-case letters, digits and -`);
        else if (RESERVED_HOSTS.includes(u.name)) out.push(`uis[${i}]: name ${u.name} is the edge's own login host; fix: name the UI otherwise`);
        else if (names.indexOf(u.name) !== i) out.push(`uis[${i}]: ${u.name} is declared more than once; fix: keep one`);
        if (!UPSTREAM_RE.test(u.upstream)) out.push(`uis[${i}] (${u.name}): upstream ${JSON.stringify(u.upstream)} is not http://<service>:<port>; fix: the UI's service name and port inside the swarm`);
        if (u.roles.length === 0) out.push(`uis[${i}] (${u.name}): no role may use it; fix: list the roles that may, e.g. [platform-admin]`);
        for (const r of u.roles) if (!/^[A-Za-z0-9._-]+$/.test(r)) out.push(`uis[${i}] (${u.name}): role ${JSON.stringify(r)} is not a role name; fix: letters, digits and - _ .`);
        if (u.host !== undefined && !DOMAIN_RE.test(u.host)) out.push(`uis[${i}] (${u.name}): host ${JSON.stringify(u.host)} is not a lower-case DNS name; fix: e.g. id.example.com`);
        for (const p of u.publicPaths ?? []) if (!PATH_RE.test(p) || p === "/") out.push(`uis[${i}] (${u.name}): public path ${JSON.stringify(p)} is not a path prefix below /; fix: e.g. /realms/`);
    });
    return out;
}

export class Edge extends pulumi.ComponentResource {
    public readonly proxy: Service;
    public readonly auth: Service;
    public readonly network: Network;
    /** The certificate people's browsers are shown (PEM): trust it to reach the UIs without a warning. */
    public readonly certificate: pulumi.Output<string>;
    /** Each UI's public URL, by name. */
    public readonly urls: Record<string, string>;
    /** Where a login starts and a session ends. */
    public readonly signOutUrl: string;
    /** oauth2-proxy's metrics: its process and the session checks in flight (it counts no auth_request sub-request by status). */
    public readonly metricsTargets: MetricsTarget[];
    /** The TLS endpoint whose certificate Prometheus watches (through the blackbox exporter): nginx on its network, with the sign-in host's name. */
    public readonly tlsProbe: TlsProbe & { readonly networkId: pulumi.Output<string> };

    constructor(name: string, args: EdgeArgs, opts?: pulumi.ComponentResourceOptions) {
        super("swarm:stacks:Edge", name, {}, opts);
        const problems = edgeArgsProblems(args);
        if (problems.length) throw new Error(`Edge ${name}: ${problems.join("; ")}`);
        const conn = { connection: args.connection, privateKey: pulumi.secret(args.privateKey) };
        const child = { parent: this };
        const labels = { "swarm-etl.stack": name };
        const port = args.port ?? EDGE_PORT;
        const files = secretFiles(name);
        this.urls = Object.fromEntries(args.uis.map((u) => [u.name, `${originOf(u.host ?? `${u.name}.${args.domain}`, port)}/`]));
        this.signOutUrl = `${hostUrl(AUTH_HOST, args.domain, port)}/oauth2/sign_out`;

        this.network = new Network(`${name}-net`, { ...conn, name: `${name}-net`, attachable: false, encrypted: args.encrypted ?? true, labels }, child);
        const tls = args.tls
            ? new Secret(`${name}-tls`, { ...conn, name: `${name}-tls`, data: pulumi.all([args.tls.certificate, args.tls.privateKey]).apply(([c, k]) => `${c.trim()}\n${k.trim()}\n`), labels }, child)
            : new Secret(`${name}-tls`, { ...conn, name: `${name}-tls`, generate: { tls: { commonName: args.domain, dnsNames: [args.domain, `*.${args.domain}`], days: 825 } }, labels }, child);
        this.certificate = args.tls ? pulumi.output(args.tls.certificate) : tls.certificate.apply((c) => c ?? "");
        const clientSecret = new Secret(`${name}-client-secret`, { ...conn, name: `${name}-client-secret`, data: args.oidc.clientSecret, labels }, child);
        // 24 random bytes → 32 base64url characters: an AES-256 key as oauth2-proxy reads it.
        const cookieSecret = new Secret(`${name}-cookie-secret`, { ...conn, name: `${name}-cookie-secret`, generate: { bytes: 24 }, labels }, child);

        const host = args.publishMode === "host";
        const render = { name, domain: args.domain, port, uis: args.uis, oidc: args.oidc, cookieExpire: args.cookieExpire, cookieRefresh: args.cookieRefresh };
        const ref = (s: Secret, target: string, uid: string) => ({ secretId: s.secretId, secretName: s.secretName, target: target.replace(/^\/run\/secrets\//, ""), uid, gid: uid, mode: 0o400 });

        this.auth = new Service(
            `${name}-auth`,
            {
                ...conn,
                name: `${name}-auth`,
                image: args.images.auth,
                // Sessions live in the (encrypted) cookie, so any replica answers for any person.
                replicas: host ? 1 : args.replicas ?? 2,
                maxReplicasPerNode: host ? undefined : 1,
                args: oauth2ProxyArgs(render),
                networks: [this.network.networkId, args.oidc.networkId],
                endpointMode: args.endpointMode ?? "vip",
                secrets: [ref(clientSecret, files.clientSecret, OAUTH2_PROXY_UID), ref(cookieSecret, files.cookieSecret, OAUTH2_PROXY_UID)],
                healthcheck: { test: ["CMD", "curl", "-fsS", "-o", "/dev/null", `http://127.0.0.1:${AUTH_PORT}/ping`], interval: "10s", timeout: "3s", retries: 3, startPeriod: "10s" },
                restartPolicy: { condition: "any", delay: "2s" },
                resources: { limits: { cpus: 0.5, memory: "128M" } },
                labels: { ...labels, "swarm-etl.role": "edge-auth", "swarm-etl.stateful": "false" },
            },
            child,
        );

        const conf = new Config(`${name}-nginx`, { ...conn, name: `${name}-nginx`, data: renderNginxConf(render), labels }, child);
        const uiNetworks = [...new Set(args.uis.flatMap((u) => (u.networkId === undefined ? [] : [u.networkId])))];
        this.proxy = new Service(
            name,
            {
                ...conn,
                name,
                image: args.images.proxy,
                mode: host ? "global" : "replicated",
                replicas: host ? undefined : args.replicas ?? 2,
                constraints: host ? ["node.role==manager"] : undefined,
                maxReplicasPerNode: host ? undefined : 1,
                networks: [this.network.networkId, ...uiNetworks],
                endpointMode: args.endpointMode ?? "vip",
                ports: [{ target: EDGE_PORT, published: port, protocol: "tcp", mode: host ? "host" : "ingress" }],
                configs: [{ configId: conf.configId, configName: conf.configName, target: "/etc/swarm-etl-edge/nginx.conf", uid: NGINX_UID, gid: NGINX_UID, mode: 0o444 }],
                secrets: [ref(tls, files.tls, NGINX_UID)],
                healthcheck: { test: ["CMD", "curl", "-fsSk", "-o", "/dev/null", `https://127.0.0.1:${EDGE_PORT}/_edge/health`], interval: "10s", timeout: "3s", retries: 3, startPeriod: "10s" },
                restartPolicy: { condition: "any", delay: "2s" },
                resources: { limits: { cpus: 1, memory: "128M" } },
                updateConfig: { parallelism: 1, order: host ? "stop-first" : "start-first" },
                labels: { ...labels, "swarm-etl.role": "edge", "swarm-etl.stateful": "false", "swarm-etl.auth-proxy": "true" },
            },
            { parent: this, dependsOn: [this.auth] },
        );
        this.tlsProbe = { job: "edge-tls", target: `${name}:${EDGE_PORT}`, serverName: `${AUTH_HOST}.${args.domain}`, networkName: `${name}-net`, networkId: this.network.networkId };
        this.metricsTargets = [{ job: "edge-auth", services: [`${name}-auth`], networkName: `${name}-net`, networkId: this.network.networkId, port: AUTH_METRICS_PORT }];
        this.registerOutputs({ urls: this.urls, certificate: this.certificate, signOutUrl: this.signOutUrl });
    }
}

export { AUTH_PORT, EDGE_PORT };
