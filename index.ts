// swarm-etl: read and validate the stack config, build the components, export the outputs.
import * as fs from "fs";
import * as pulumi from "@pulumi/pulumi";
import { ConfigError, parseStackConfig, rawConfigFromEngine, StackConfig } from "./config/schema";
import { DemoStack, Edge, EDGE_IMAGES, FlightsEtl, Keycloak, KEYCLOAK_IMAGE, PgBackupRepository, PlatformRealm, PostgresCluster, Scheduler, SCHEDULER_IMAGE, SparkCluster, SwarmCluster } from "./components";
import { BACKUP_LABEL, CLUSTER_NAME, DCS_LABEL, MEMBER_LABEL, POSTGRES_IMAGES, resolveBackupNode, resolvePostgresNodes } from "./components/stacks/postgres/config";
import { names as pgNames, roleSecret, SECRETS_DIR } from "./components/stacks/postgres/render";
import { resolveSparkNodes, SPARK_IMAGE } from "./components/stacks/spark/config";
import { PUSHGATEWAY_IMAGE } from "./components/stacks/etl/config";
import { etlPasswordRef } from "./components/stacks/etl/flightsEtl";
import { identityConstraints } from "./components/stacks/identity/config";
import { EDGE_CLIENT_ID, edgeKeycloakUrl, edgeUiRoles } from "./components/stacks/edge/config";
import { AUTH_HOST, hostUrl } from "./components/stacks/edge/render";
import { sparkNames, UI_PORTS } from "./components/stacks/spark/sparkCluster";
import { DEFAULT_REALM, defaultGroups, DEFAULT_ROLES } from "./components/stacks/identity/realm";

function loadConfig(): StackConfig {
    try {
        return parseStackConfig(rawConfigFromEngine(pulumi.runtime.allConfig()), { readFile: (p) => fs.readFileSync(p, "utf8") });
    } catch (err) {
        if (err instanceof ConfigError) throw new pulumi.RunError(err.message);
        throw err;
    }
}

function privateKeyOf(cfg: StackConfig): pulumi.Output<string> {
    if (cfg.sshPrivateKey) return pulumi.secret(cfg.sshPrivateKey);
    const path = cfg.sshPrivateKeyPath!;
    try {
        return pulumi.secret(fs.readFileSync(path, "utf8"));
    } catch (err) {
        throw new pulumi.RunError(`swarm-etl:sshPrivateKeyPath: cannot read ${path}: ${(err as Error).message}; fix: point it at the private key file, or run \`lab/lab.sh up\` for the lab`);
    }
}

const cfg = loadConfig();
const privateKey = privateKeyOf(cfg);

const stack = pulumi.getStack();
const cluster = new SwarmCluster("swarm", {
    bastion: cfg.bastion,
    managers: cfg.managers,
    workers: cfg.workers,
    sshUser: cfg.sshUser,
    privateKey,
    autolock: cfg.autolock,
    joinTokenRotation: cfg.joinTokenRotation,
    hostCheck: cfg.hostCheck,
    access: {
        identityFile: cfg.access.identityFile ?? cfg.sshPrivateKeyPath ?? `~/.ssh/swarm-etl-${stack}`,
        knownHostsFile: cfg.access.knownHostsFile ?? `~/.ssh/swarm-etl-${stack}.known_hosts`,
    },
});

const demo = cfg.demo.enabled
    ? new DemoStack(
          "demo",
          {
              connection: cluster.managerConnection,
              privateKey,
              image: cfg.demo.image,
              replicas: cfg.demo.replicas,
              endpointMode: cfg.endpointMode,
              publishMode: cfg.publishMode,
              encrypted: cfg.encryptOverlays,
          },
          { dependsOn: cluster.members },
      )
    : undefined;

const nodeViews = [...cfg.managers.map((m) => ({ ...m, role: "manager" as const })), ...cfg.workers.map((w) => ({ ...w, role: "worker" as const }))];
const pgNodes = resolvePostgresNodes(cfg.postgres, nodeViews);
const backupNode = cfg.postgres.enabled && cfg.postgres.backup.enabled ? resolveBackupNode(cfg.postgres, nodeViews) : undefined;
// Cron for the swarm: runs the scheduled backups (and later the ETL) as Swarm jobs.
const etlOn = cfg.etl.enabled && cfg.spark.enabled && cfg.postgres.enabled;
const scheduler = backupNode || (etlOn && cfg.etl.schedule) ? new Scheduler("swarm-etl-scheduler", { connection: cluster.managerConnection, privateKey, image: cfg.images[SCHEDULER_IMAGE] }, { dependsOn: cluster.members }) : undefined;
const repository = backupNode
    ? new PgBackupRepository(
          `${CLUSTER_NAME}-backup`,
          {
              connection: cluster.managerConnection,
              privateKey,
              nodeConnection: cluster.nodeConnections[backupNode],
              node: backupNode,
              image: cfg.images[POSTGRES_IMAGES.postgres],
              stanzas: { [CLUSTER_NAME]: pgNodes.members.map(pgNames(CLUSTER_NAME).member) },
              retention: cfg.postgres.backup.retention,
              path: cfg.postgres.backup.path,
              s3: cfg.postgres.backup.s3 && { ...cfg.postgres.backup.s3, secretAccessKey: pulumi.secret(cfg.postgres.backup.s3.secretAccessKey) },
              nodeLabel: nodeViews.find((n) => n.name === backupNode)?.labels[BACKUP_LABEL] === "true" ? BACKUP_LABEL : undefined,
              endpointMode: cfg.endpointMode,
              encrypted: cfg.encryptOverlays,
          },
          { dependsOn: cluster.members },
      )
    : undefined;
const postgres = cfg.postgres.enabled
    ? new PostgresCluster(
          CLUSTER_NAME,
          {
              connection: cluster.managerConnection,
              privateKey,
              nodeConnections: cluster.nodeConnections,
              images: { postgres: cfg.images[POSTGRES_IMAGES.postgres], etcd: cfg.images[POSTGRES_IMAGES.etcd], router: cfg.images[POSTGRES_IMAGES.router] },
              ...pgNodes,
              memberLabel: MEMBER_LABEL,
              dcsLabel: nodeViews.some((n) => n.labels[DCS_LABEL] === "true") ? DCS_LABEL : undefined,
              synchronous: cfg.postgres.synchronous,
              parameters: cfg.postgres.parameters,
              databases: cfg.postgres.databases,
              roles: cfg.postgres.roles,
              primary: cfg.postgres.primary,
              failover: cfg.postgres.failover,
              resources: cfg.postgres.resources,
              routerReplicas: cfg.postgres.routerReplicas,
              endpointMode: cfg.endpointMode,
              encrypted: cfg.encryptOverlays,
              backup: repository ? { repository, schedules: cfg.postgres.backup.schedules, keepRuns: cfg.postgres.backup.keepRuns } : undefined,
              restore: cfg.postgres.restore,
          },
          { dependsOn: scheduler ? [...cluster.members, scheduler] : cluster.members },
      )
    : undefined;

// Keycloak: its database and login role on the cluster, made by the reconcile job before it starts.
// Behind the edge, people reach it at id.<domain> (or identity.hostname, whose host the edge serves).
const keycloakPublicUrl = cfg.edge.enabled ? edgeKeycloakUrl(cfg.edge, cfg.identity.hostname) : cfg.identity.hostname;
const keycloak =
    cfg.identity.enabled && postgres
        ? new Keycloak(
              "keycloak",
              {
                  connection: cluster.managerConnection,
                  privateKey,
                  image: cfg.images[KEYCLOAK_IMAGE],
                  database: {
                      networkId: postgres.network.networkId,
                      endpoint: postgres.primaryEndpoint,
                      database: cfg.identity.database,
                      user: cfg.identity.role,
                      passwordSecret: postgres.secrets[roleSecret(cfg.identity.role)],
                  },
                  replicas: cfg.identity.replicas,
                  hostname: keycloakPublicUrl,
                  constraints: identityConstraints(cfg.identity),
                  memory: cfg.identity.memory,
                  endpointMode: cfg.endpointMode,
                  encrypted: cfg.encryptOverlays,
              },
              { dependsOn: [...cluster.members, postgres.reconcile] },
          )
        : undefined;

// The ETL role's password: mounted at the same path in the job's driver and in every executor.
const etlSecret = etlOn && postgres ? postgres.secrets[roleSecret(cfg.etl.role)] : undefined;
const etlSecretRef = etlSecret && etlPasswordRef(etlSecret, pgNames(CLUSTER_NAME).secret(roleSecret(cfg.etl.role)));
const sparkNodes = resolveSparkNodes(cfg.spark, nodeViews);
const spark = cfg.spark.enabled
    ? new SparkCluster(
          "spark",
          {
              connection: cluster.managerConnection,
              privateKey,
              nodeConnections: cluster.nodeConnections,
              image: cfg.images[SPARK_IMAGE],
              masterNode: sparkNodes.master!,
              workerNodes: sparkNodes.workers,
              workerLabel: cfg.spark.workers.label,
              workers: sparkNodes.replicas,
              workerCores: cfg.spark.workers.cores,
              workerMemory: cfg.spark.workers.memory,
              history: cfg.spark.history,
              executorNetworks: etlSecretRef && postgres ? [postgres.network.networkId] : [],
              executorSecrets: etlSecretRef ? [etlSecretRef] : [],
              endpointMode: cfg.endpointMode,
              encrypted: cfg.encryptOverlays,
          },
          { dependsOn: cluster.members },
      )
    : undefined;
const etl =
    spark && postgres && etlSecretRef
        ? new FlightsEtl(
              "etl-flights",
              {
                  connection: cluster.managerConnection,
                  privateKey,
                  image: cfg.images[SPARK_IMAGE],
                  spark,
                  warehouse: {
                      networkId: postgres.network.networkId,
                      endpoint: postgres.primaryEndpoint,
                      database: cfg.etl.database,
                      user: cfg.etl.role,
                      schema: cfg.etl.schema,
                      passwordSecret: etlSecretRef,
                      passwordFile: `${SECRETS_DIR}/${etlSecretRef.target}`,
                  },
                  runId: cfg.etl.runId,
                  schedule: cfg.etl.schedule,
                  driverMemory: cfg.etl.driverMemory,
                  executorMemory: cfg.spark.executorMemory,
                  dq: cfg.etl.dq,
                  keepRuns: cfg.etl.keepRuns,
                  pushgateway: { image: cfg.images[PUSHGATEWAY_IMAGE], nodeConnection: spark.masterNodeConnection },
                  endpointMode: cfg.endpointMode,
              },
              { dependsOn: [...cluster.members, postgres.reconcile, ...(scheduler ? [scheduler] : [])] },
          )
        : undefined;

// The platform realm as code, through the SSH transport to Keycloak's task (its port stays inside
// the swarm), and the edge in front of every UI, signing people in with the realm's `edge` client.
const edgeOn = cfg.edge.enabled && keycloak !== undefined;
const authUrl = hostUrl(AUTH_HOST, cfg.edge.domain, cfg.edge.port);
const realm = keycloak
    ? new PlatformRealm(
          "platform-realm",
          {
              admin: pulumi.all([keycloak.adminClientSecret, privateKey]).apply(([clientSecret, key]) => ({
                  url: keycloak.internalUrl,
                  clientId: keycloak.adminClientId,
                  clientSecret,
                  tunnel: { connection: cluster.managerConnection, privateKey: key, nodeConnections: cluster.nodeConnections },
              })),
              realm: DEFAULT_REALM,
              roles: DEFAULT_ROLES,
              groups: defaultGroups(DEFAULT_ROLES),
              clients: [
                  ...(edgeOn
                      ? [{ clientId: EDGE_CLIENT_ID, name: "The platform's edge (oauth2-proxy)", rootUrl: authUrl, redirectUris: [`${authUrl}/oauth2/callback`], postLogoutRedirectUris: [`${authUrl}/*`], allowedRoles: DEFAULT_ROLES.map((r) => r.name), pkce: true }]
                      : []),
                  ...cfg.identity.clients.map((c) => ({ clientId: c.clientId, name: c.name, rootUrl: c.rootUrl, redirectUris: c.redirectUris, postLogoutRedirectUris: c.postLogoutRedirectUris, allowedRoles: c.roles })),
              ],
              users: cfg.identity.users.map((u) => ({ ...u, initialPassword: pulumi.secret(u.initialPassword) })),
          },
          { dependsOn: [keycloak] },
      )
    : undefined;
const uiRoles = edgeUiRoles(cfg.edge, { identity: keycloak !== undefined, spark: spark !== undefined });
const sparkUi = spark && sparkNames("spark");
const edge =
    edgeOn && keycloak && realm
        ? new Edge(
              "edge",
              {
                  connection: cluster.managerConnection,
                  privateKey,
                  images: { proxy: cfg.images[EDGE_IMAGES.proxy], auth: cfg.images[EDGE_IMAGES.auth] },
                  domain: cfg.edge.domain,
                  port: cfg.edge.port,
                  publishMode: cfg.publishMode,
                  replicas: cfg.edge.replicas,
                  tls: cfg.edge.tls && { certificate: cfg.edge.tls.certificate, privateKey: pulumi.secret(cfg.edge.tls.privateKey) },
                  uis: [
                      { name: "id", host: new URL(keycloakPublicUrl!).hostname, upstream: keycloak.internalUrl, networkId: keycloak.network.networkId, roles: uiRoles.id, publicPaths: ["/realms/", "/resources/"] },
                      ...(spark && sparkUi
                          ? [
                                { name: "spark", upstream: `http://${sparkUi.master}:${UI_PORTS.master}`, networkId: spark.network.networkId, roles: uiRoles.spark },
                                ...(spark.history ? [{ name: "spark-history", upstream: `http://${sparkUi.history}:${UI_PORTS.history}`, networkId: spark.network.networkId, roles: uiRoles["spark-history"] }] : []),
                            ]
                          : []),
                  ],
                  oidc: {
                      networkId: keycloak.network.networkId,
                      issuerUrl: `${keycloakPublicUrl}/realms/${DEFAULT_REALM}`,
                      internalRealmUrl: `${keycloak.internalUrl}/realms/${DEFAULT_REALM}`,
                      clientId: EDGE_CLIENT_ID,
                      clientSecret: realm.clientSecrets[EDGE_CLIENT_ID],
                  },
                  cookieExpire: cfg.edge.cookieExpire,
                  cookieRefresh: cfg.edge.cookieRefresh,
                  endpointMode: cfg.endpointMode,
                  encrypted: cfg.encryptOverlays,
              },
              { dependsOn: [...cluster.members, realm] },
          )
        : undefined;

export const profile = cfg.profile;
export const swarmId = cluster.swarmId;
export const nodes = cluster.nodes;
export const workerToken = cluster.workerToken;
export const managerToken = cluster.managerToken;
export const unlockKey = cluster.unlockKey;
export const autolock = cfg.autolock;
/** `pulumi stack output sshConfig > f; pulumi stack output knownHosts > <access.knownHostsFile>; ssh -F f <node>` */
export const sshConfig = cluster.sshConfig;
export const knownHosts = cluster.knownHosts;
/** `pulumi stack output ansibleInventory > inventory.yaml; ansible all -i inventory.yaml -m ping` */
export const ansibleInventory = cluster.ansibleInventory;
export const demoService = demo?.serviceName;
export const demoNetwork = demo?.networkName;
/** Clients attach to `postgresNetwork` and connect to `postgresPrimary` (writes) or `postgresReplicas` (reads). */
export const postgresNetwork = postgres?.networkName;
export const postgresPrimary = postgres?.primaryEndpoint;
export const postgresReplicas = postgres?.replicaEndpoint;
/** Swarm secret names of the login roles' passwords: mount one in a client, read it through `*_FILE`. */
export const postgresSecrets = postgres?.secretNames;
/** The backup repository's node and service; `docker exec` into it for `pgbackrest info` (docs/postgres.md). */
export const postgresBackupRepository = repository ? { node: repository.node, service: repository.name, stanzas: repository.stanzas } : undefined;
/** The scheduler's service: `docker exec` into it for `swarm-etl-scheduler list` and `run <template> --wait`. */
export const schedulerService = scheduler?.serviceName;
/** The Spark cluster: `sparkMaster` for applications on `sparkNetwork`; the UIs (8080, 8081, 18080) on that network. */
export const sparkNetwork = spark?.networkName;
export const sparkMaster = spark?.masterUrl;
/** The ETL job (`docker service logs <etlJob>`) and its scheduled template (`swarm-etl-scheduler run <etlTemplate> --wait`). */
export const etlJob = etl?.jobName;
export const etlTemplate = etl?.templateName;
/** The runs' metrics (Prometheus text): http://<etlPushgateway>:9091/metrics on the Spark network. */
export const etlPushgateway = etl?.pushgateway ? `${etl.jobName}-pushgateway` : undefined;
/** Keycloak: `keycloakService` on `keycloakNetwork` (the edge attaches to it), `keycloakUrl` inside the swarm (http, port 8080). */
export const keycloakService = keycloak?.serviceName;
export const keycloakNetwork = keycloak?.network.name;
export const keycloakUrl = keycloak?.internalUrl;
/** The master realm's bootstrap service account (client credentials) for realm-as-code: `pulumi stack output --show-secrets keycloakAdminClientSecret`. */
export const keycloakAdminClientId = keycloak?.adminClientId;
export const keycloakAdminClientSecret = keycloak?.adminClientSecret;
/** The one entrance: each UI's URL (behind a Keycloak login), and the certificate the edge shows (trust it: `pulumi stack output edgeCertificate > edge.pem`). */
export const edgeUrls = edge?.urls;
export const edgeSignOutUrl = edge?.signOutUrl;
export const edgeCertificate = edge?.certificate;
/** The secrets of `identity.clients`, by clientId, for each UI's own OIDC settings: `pulumi stack output --show-secrets identityClientSecrets`. */
export const identityClientSecrets =
    realm && cfg.identity.clients.length ? pulumi.secret(pulumi.all(Object.fromEntries(cfg.identity.clients.map((c) => [c.clientId, realm.clientSecrets[c.clientId]])))) : undefined;
