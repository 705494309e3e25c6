// Keycloak: the platform's identity service (components/stacks/identity/images/keycloak: Keycloak 26
// from Maven Central on Debian trixie's Java 21, pre-built for PostgreSQL). Its database and login
// role are on the HA PostgreSQL cluster (through the router, the role's password a Swarm secret);
// its admin credential is the master realm's bootstrap *service account* (a client, not a person:
// the master realm holds no people), whose secret is a Pulumi secret output that the realm-as-code
// resources use, handed to the service only as a Swarm secret. Both secrets reach Keycloak through
// a config file in the image's /run/keycloak (mode 0700, Keycloak's user's: a tmpfs mount's mode is
// not honoured for a non-root user, README), never through its environment or command line.
//
// It serves HTTP on 8080 inside the swarm (TLS ends at the edge, which sends X-Forwarded-*), health
// and Prometheus metrics on the management port 9000. One replica keeps sessions in its local cache;
// more replicas form one Infinispan cluster, discovered through the database (JDBC_PING).
import * as pulumi from "@pulumi/pulumi";
import { GeneratedPassword, HostConnection, Network, Secret, Service, ServiceSecretRef } from "../../../providers/swarm";
import type { MetricsTarget } from "../observability/render";

/** The Keycloak image, by its name in `swarm-etl:images`. */
export const KEYCLOAK_IMAGE = "identity-keycloak";
/** The uid Keycloak runs as in its image (its secrets are mounted for it). */
export const KEYCLOAK_UID = 10002;
export const KEYCLOAK_HTTP_PORT = 8080;
export const KEYCLOAK_MANAGEMENT_PORT = 9000;
/** The master realm's bootstrap service account (client credentials grant). */
export const ADMIN_CLIENT_ID = "swarm-etl-admin";
const SECRETS = "/run/secrets";

export interface KeycloakDatabase {
    /** The network the PostgreSQL router is on. */
    readonly networkId: pulumi.Input<string>;
    /** host:port of the primary through the router. */
    readonly endpoint: string;
    readonly database: string;
    readonly user: string;
    /** The login role's password secret (the PostgreSQL cluster's `role-<user>`). */
    readonly passwordSecret: { readonly secretId: pulumi.Input<string>; readonly secretName: pulumi.Input<string> };
}

export interface KeycloakArgs {
    readonly connection: HostConnection;
    readonly privateKey: pulumi.Input<string>;
    readonly image: pulumi.Input<string>;
    readonly database: KeycloakDatabase;
    /** @default - 1 */
    readonly replicas?: number;
    /**
     * The public URL people and clients use (through the edge), e.g. https://id.example.com. Unset:
     * Keycloak takes it from each request (the lab, before the edge exists).
     */
    readonly hostname?: string;
    /** Placement constraints of the replicas. @default - none */
    readonly constraints?: string[];
    /** Memory limit of each replica. @default - 1536M */
    readonly memory?: string;
    /**
     * Where its request spans go (OTLP over gRPC: the collectors of the Logs stack, on their
     * network), and the share of requests traced. @default - none: the image has tracing built in
     * (a build-time option), so without this no request is sampled and nothing is sent
     */
    readonly tracing?: { readonly networkId: pulumi.Input<string>; readonly otlpGrpcEndpoint: string; readonly samplerRatio?: number };
    readonly endpointMode?: "vip" | "dnsrr";
    /** @default - true */
    readonly encrypted?: boolean;
}

/** What is wrong with the arguments, each with its fix (the program reports them before any change). */
export function keycloakArgsProblems(a: Pick<KeycloakArgs, "replicas" | "hostname" | "database" | "tracing">): string[] {
    const out: string[] = [];
    const ratio = a.tracing?.samplerRatio;
    if (ratio !== undefined && !(ratio > 0 && ratio <= 1)) out.push(`tracing.samplerRatio ${ratio} is not a share of requests above 0 and at most 1; fix: 1 (every request), or e.g. 0.1`);
    const n = a.replicas ?? 1;
    if (!Number.isInteger(n) || n < 1 || n > 9) out.push(`replicas ${n} is not a whole number from 1 to 9; fix: 1 (the lab) or 2 (prod)`);
    if (a.hostname !== undefined) {
        let url: URL | undefined;
        try {
            url = new URL(a.hostname);
        } catch {
            url = undefined;
        }
        if (!url || !["https:", "http:"].includes(url.protocol) || url.pathname !== "/" || url.search || url.hash)
            out.push(`hostname ${JSON.stringify(a.hostname)} is not a URL of scheme, host and optional port; fix: e.g. https://id.example.com`);
    }
    if (!/^[^:]+:\d+$/.test(a.database.endpoint)) out.push(`database.endpoint ${JSON.stringify(a.database.endpoint)} is not host:port; fix: the router's primary endpoint, e.g. pg-router:5432`);
    return out;
}

/** pgjdbc's connection properties: fail a statement on a silent server after 30 s, connect within 5 s, TCP keepalives. */
export const DB_URL_PROPERTIES = "socketTimeout=30&connectTimeout=5&tcpKeepAlive=true";

/** Keycloak's settings: all of them, and none of its secrets (those are files, `*_FILE`). */
export function keycloakEnv(
    a: Pick<KeycloakArgs, "database" | "replicas" | "hostname" | "tracing"> & {
        /** The subnet whose peers' X-Forwarded-* headers count (the edge's network); unknown (a state from before it was read): every peer's. */
        trustedProxies?: string;
    },
    files: { db: string; admin: string },
): Record<string, string> {
    const [host, port] = a.database.endpoint.split(":");
    const clustered = (a.replicas ?? 1) > 1;
    return {
        // A failover moves the primary without a TCP reset to Keycloak (the old primary's address
        // goes silent): a statement on a connection to it fails after socketTimeout instead of
        // hanging, keepalives find idle ones, and the pool checks its idle connections in the
        // background (SELECT 1 every 10 s), so the broken ones leave and new ones reach the new
        // primary through the router.
        KC_DB_URL: `jdbc:postgresql://${host}:${port}/${a.database.database}?${DB_URL_PROPERTIES}`,
        KC_DB_USERNAME: a.database.user,
        KC_DB_PASSWORD_FILE: files.db,
        KC_DB_POOL_MIN_SIZE: "2",
        KC_DB_POOL_MAX_SIZE: "20",
        QUARKUS_DATASOURCE_JDBC_BACKGROUND_VALIDATION_INTERVAL: "10S",
        QUARKUS_DATASOURCE_JDBC_VALIDATION_QUERY_SQL: "SELECT 1",
        KC_BOOTSTRAP_ADMIN_CLIENT_ID: ADMIN_CLIENT_ID,
        KC_BOOTSTRAP_ADMIN_CLIENT_SECRET_FILE: files.admin,
        KC_HTTP_ENABLED: "true",
        KC_HTTP_PORT: String(KEYCLOAK_HTTP_PORT),
        KC_PROXY_HEADERS: "xforwarded",
        ...(a.trustedProxies ? { KC_PROXY_TRUSTED_ADDRESSES: a.trustedProxies } : {}),
        // Behind the edge: the public URL for people, the internal one still answered for the
        // edge's token exchange and the realm-as-code resources (backchannel).
        ...(a.hostname ? { KC_HOSTNAME: a.hostname, KC_HOSTNAME_BACKCHANNEL_DYNAMIC: "true" } : { KC_HOSTNAME_STRICT: "false" }),
        KC_CACHE: clustered ? "ispn" : "local",
        ...(clustered ? { KC_CACHE_STACK: "jdbc-ping" } : {}),
        KC_LOG_CONSOLE_OUTPUT: "default",
        // Request spans (tracing is built into the image): to the collectors, or none sampled.
        ...(a.tracing
            ? { KC_TRACING_ENDPOINT: a.tracing.otlpGrpcEndpoint, KC_TRACING_PROTOCOL: "grpc", KC_TRACING_COMPRESSION: "gzip", KC_TRACING_SAMPLER_RATIO: String(a.tracing.samplerRatio ?? 1) }
            : { KC_TRACING_SAMPLER_RATIO: "0.0" }),
    };
}

export class Keycloak extends pulumi.ComponentResource {
    public readonly service: Service;
    /** The network the edge (and the realm-as-code resources' tunnel) reach Keycloak on. */
    public readonly network: Network;
    public readonly serviceName: string;
    /** http://<service>:8080 inside the swarm. */
    public readonly internalUrl: string;
    /** The master realm's bootstrap service account: client id and (secret) client secret. */
    public readonly adminClientId: string;
    public readonly adminClientSecret: pulumi.Output<string>;
    /** The same secret as a Swarm secret (a client on `network` mounts it to use the Admin REST API). */
    public readonly adminSecret: Secret;
    /** Each replica's metrics (logins, events, JVM, database pool) on its management port. */
    public readonly metricsTargets: MetricsTarget[];

    constructor(name: string, args: KeycloakArgs, opts?: pulumi.ComponentResourceOptions) {
        super("swarm:stacks:Keycloak", name, {}, opts);
        const problems = keycloakArgsProblems(args);
        if (problems.length) throw new Error(`Keycloak ${name}: ${problems.join("; ")}`);
        const conn = { connection: args.connection, privateKey: pulumi.secret(args.privateKey) };
        const childOpts = { parent: this };
        const labels = { "swarm-etl.stack": name };
        this.serviceName = name;
        this.internalUrl = `http://${name}:${KEYCLOAK_HTTP_PORT}`;
        this.adminClientId = ADMIN_CLIENT_ID;

        const generated = new GeneratedPassword(`${name}-admin-client-secret`, { bytes: 30 }, childOpts);
        this.adminClientSecret = pulumi.secret(generated.value);
        const admin = (this.adminSecret = new Secret(`${name}-admin`, { ...conn, name: `${name}-admin`, data: this.adminClientSecret, labels }, childOpts));
        this.network = new Network(`${name}-net`, { ...conn, name: `${name}-net`, attachable: true, encrypted: args.encrypted ?? true, labels }, childOpts);

        const files = { db: `${SECRETS}/${name}-db`, admin: `${SECRETS}/${name}-admin` };
        const secretRef = (s: { secretId: pulumi.Input<string>; secretName: pulumi.Input<string> }, target: string): ServiceSecretRef => ({
            secretId: s.secretId,
            secretName: s.secretName,
            target,
            uid: String(KEYCLOAK_UID),
            gid: String(KEYCLOAK_UID),
            mode: 0o400,
        });
        const replicas = args.replicas ?? 1;
        this.service = new Service(
            name,
            {
                ...conn,
                name,
                image: args.image,
                replicas,
                // Forwarded headers only from the edge's network: a peer elsewhere cannot pose as the edge.
                env: this.network.liveSubnet.apply((subnet) => keycloakEnv({ ...args, trustedProxies: subnet }, files)),
                networks: [this.network.networkId, args.database.networkId, ...(args.tracing ? [args.tracing.networkId] : [])],
                endpointMode: args.endpointMode ?? "vip",
                constraints: args.constraints,
                // Replicas on different nodes: one node lost keeps a replica and the sessions it holds.
                maxReplicasPerNode: replicas > 1 ? 1 : undefined,
                secrets: [secretRef(args.database.passwordSecret, `${name}-db`), secretRef({ secretId: admin.secretId, secretName: admin.secretName }, `${name}-admin`)],
                healthcheck: { test: ["CMD", "swarm-etl-keycloak", "health"], interval: "10s", timeout: "5s", retries: 3, startPeriod: "180s" },
                restartPolicy: { condition: "any", delay: "5s" },
                resources: { limits: { cpus: 1, memory: args.memory ?? "1536M" } },
                stopGracePeriod: "30s",
                // The first start on an empty database creates Keycloak's schema (minutes on a busy node).
                convergeTimeoutSeconds: 600,
                // A new replica joins (start-first) before an old one leaves: sessions move over.
                updateConfig: { parallelism: 1, order: replicas > 1 ? "start-first" : "stop-first" },
                labels: { ...labels, "swarm-etl.role": "identity", "swarm-etl.stateful": "false", "swarm-etl.ui": "true" },
            },
            { parent: this, dependsOn: opts?.dependsOn },
        );
        this.metricsTargets = [{ job: "keycloak", services: [name], networkName: `${name}-net`, networkId: this.network.networkId, port: KEYCLOAK_MANAGEMENT_PORT }];
        this.registerOutputs({ serviceName: this.serviceName, internalUrl: this.internalUrl, adminClientId: this.adminClientId });
    }
}
