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
import { alertingOf, CONTROL_LABEL, grafanaOn, logStoreOf, resolveObservabilityNodes, uiParts } from "./components/stacks/observability/config";
import { Observability, OBSERVABILITY_IMAGES } from "./components/stacks/observability/observability";
import { PORTS as METRICS_PORTS } from "./components/stacks/observability/render";
import { Logs, LOGS_IMAGES } from "./components/stacks/logs/logs";
import { Traces, TRACES_IMAGE, tracesStoreName } from "./components/stacks/traces/traces";
import { Grafana, GRAFANA_IMAGE } from "./components/stacks/grafana/grafana";
import { GRAFANA_PORT } from "./components/stacks/grafana/render";
import { DEFAULT_SCHEDULES } from "./components/stacks/postgres/backup";
import { keepServicesOffControl } from "./components/placement";

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
// A control manager (prod keeps it active for Prometheus and the node agents): every other service
// of every component stays off it (the option is inherited by each component's children).
const controlOn = cfg.managers.some((m) => m.labels[CONTROL_LABEL] === "true");
const placed = (opts: pulumi.ComponentResourceOptions) => (controlOn ? pulumi.mergeOptions(opts, { transformations: [keepServicesOffControl] }) : opts);
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
          placed({ dependsOn: cluster.members }),
      )
    : undefined;

const nodeViews = [...cfg.managers.map((m) => ({ ...m, role: "manager" as const })), ...cfg.workers.map((w) => ({ ...w, role: "worker" as const }))];
const pgNodes = resolvePostgresNodes(cfg.postgres, nodeViews);
const backupNode = cfg.postgres.enabled && cfg.postgres.backup.enabled ? resolveBackupNode(cfg.postgres, nodeViews) : undefined;
// Cron for the swarm: runs the scheduled backups (and later the ETL) as Swarm jobs.
const etlOn = cfg.etl.enabled && cfg.spark.enabled && cfg.postgres.enabled;
const scheduler = backupNode || (etlOn && cfg.etl.schedule) ? new Scheduler("swarm-etl-scheduler", { connection: cluster.managerConnection, privateKey, image: cfg.images[SCHEDULER_IMAGE] }, placed({ dependsOn: cluster.members })) : undefined;
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
          placed({ dependsOn: cluster.members }),
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
          placed({ dependsOn: scheduler ? [...cluster.members, scheduler] : cluster.members }),
      )
    : undefined;

// Logs: the collector on every node, the store (Loki on real clusters, VictoriaLogs in the lab) on
// its node; traces: Jaeger beside it, fed the programs' spans by the same collectors.
const obsOn = cfg.observability.enabled;
const obsNodes = resolveObservabilityNodes(cfg.observability, nodeViews);
const logStore = logStoreOf(cfg.observability, cfg.profile);
const logs =
    obsOn && cfg.observability.logs.enabled
        ? new Logs(
              "logs",
              {
                  connection: cluster.managerConnection,
                  privateKey,
                  node: obsNodes.logs!,
                  nodeConnection: cluster.nodeConnections[obsNodes.logs!],
                  nodeConnections: cluster.nodeConnections,
                  store: logStore,
                  images: { collector: cfg.images[LOGS_IMAGES.collector], store: cfg.images[LOGS_IMAGES[logStore]] },
                  retention: cfg.observability.logs.retention,
                  tracesHost: cfg.observability.traces.enabled ? tracesStoreName("traces") : undefined,
                  endpointMode: cfg.endpointMode,
                  encrypted: cfg.encryptOverlays,
              },
              placed({ dependsOn: cluster.members }),
          )
        : undefined;
const traces =
    logs && cfg.observability.traces.enabled
        ? new Traces(
              "traces",
              {
                  connection: cluster.managerConnection,
                  privateKey,
                  node: obsNodes.traces!,
                  nodeConnection: cluster.nodeConnections[obsNodes.traces!],
                  image: cfg.images[TRACES_IMAGE],
                  network: { networkId: logs.network.networkId, name: "logs-net" },
                  retention: cfg.observability.traces.retention,
                  endpointMode: cfg.endpointMode,
              },
              placed({ dependsOn: cluster.members }),
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
                  tracing: traces && logs ? { networkId: logs.network.networkId, otlpGrpcEndpoint: logs.otlpGrpcEndpoint } : undefined,
                  endpointMode: cfg.endpointMode,
                  encrypted: cfg.encryptOverlays,
              },
              placed({ dependsOn: [...cluster.members, postgres.reconcile, ...(traces ? [traces] : [])] }),
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
          placed({ dependsOn: cluster.members }),
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
                  telemetry: traces && logs ? { networkId: logs.network.networkId, otlpEndpoint: logs.otlpEndpoint } : undefined,
                  endpointMode: cfg.endpointMode,
              },
              placed({ dependsOn: [...cluster.members, postgres.reconcile, ...(scheduler ? [scheduler] : []), ...(traces ? [traces] : [])] }),
          )
        : undefined;

// The platform realm as code, through the SSH transport to Keycloak's task (its port stays inside
// the swarm), and the edge in front of every UI, signing people in with the realm's `edge` client.
const edgeOn = cfg.edge.enabled && keycloak !== undefined;
const authUrl = hostUrl(AUTH_HOST, cfg.edge.domain, cfg.edge.port);
// Grafana signs people in with its own client of the realm (its role from theirs), behind the edge.
const grafanaUp = edgeOn && grafanaOn(cfg.observability, { edgeEnabled: edgeOn, profile: cfg.profile });
const grafanaUrl = hostUrl("grafana", cfg.edge.domain, cfg.edge.port);
const GRAFANA_CLIENT_ID = "grafana";
const OBS = "observability";
const GRAFANA = "grafana";
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
                  ...(grafanaUp
                      ? [{ clientId: GRAFANA_CLIENT_ID, name: "Grafana", rootUrl: grafanaUrl, redirectUris: [`${grafanaUrl}/login/generic_oauth`], postLogoutRedirectUris: [`${grafanaUrl}/login`], allowedRoles: DEFAULT_ROLES.map((r) => r.name), pkce: true }]
                      : []),
                  ...cfg.identity.clients.map((c) => ({ clientId: c.clientId, name: c.name, rootUrl: c.rootUrl, redirectUris: c.redirectUris, postLogoutRedirectUris: c.postLogoutRedirectUris, allowedRoles: c.roles })),
              ],
              users: cfg.identity.users.map((u) => ({ ...u, initialPassword: pulumi.secret(u.initialPassword) })),
          },
          placed({ dependsOn: [keycloak] }),
      )
    : undefined;
const uiRoles = edgeUiRoles(cfg.edge, { ...uiParts(cfg.observability, { identity: keycloak !== undefined, spark: spark !== undefined, edge: edgeOn, profile: cfg.profile }), grafana: grafanaUp });
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
                      // Prometheus and Alertmanager join the edge's network (observabilityArgs.uiNetworkIds).
                      ...(obsOn
                          ? [
                                { name: "prometheus", upstream: `http://${OBS}-prometheus:${METRICS_PORTS.prometheus}`, roles: uiRoles.prometheus },
                                { name: "alertmanager", upstream: `http://${OBS}-alertmanager:${METRICS_PORTS.alertmanager}`, roles: uiRoles.alertmanager },
                            ]
                          : []),
                      ...(logs && uiRoles.logs ? [{ name: "logs", upstream: logs.queryUrl, networkId: logs.network.networkId, roles: uiRoles.logs }] : []),
                      ...(traces && logs ? [{ name: "traces", upstream: traces.queryUrl, networkId: logs.network.networkId, roles: uiRoles.traces }] : []),
                      ...(grafanaUp ? [{ name: "grafana", upstream: `http://${GRAFANA}:${GRAFANA_PORT}`, networkId: keycloak.network.networkId, roles: uiRoles.grafana }] : []),
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
              placed({ dependsOn: [...cluster.members, realm] }),
          )
        : undefined;

// Metrics and alerts for all of it: Prometheus and Alertmanager on the control manager, an exporter
// on every node, and the certificate the edge shows watched.
const observability = obsOn
    ? new Observability(
          OBS,
          {
              connection: cluster.managerConnection,
              privateKey,
              node: obsNodes.control!,
              nodeConnection: cluster.nodeConnections[obsNodes.control!],
              images: {
                  ...(Object.fromEntries(Object.entries(OBSERVABILITY_IMAGES).map(([k, v]) => [k, cfg.images[v]])) as Record<keyof typeof OBSERVABILITY_IMAGES, string>),
                  cadvisor: cfg.observability.containers ? cfg.images[OBSERVABILITY_IMAGES.cadvisor] : undefined,
                  blackbox: edge ? cfg.images[OBSERVABILITY_IMAGES.blackbox] : undefined,
              },
              retention: cfg.observability.retention,
              scrapeInterval: cfg.observability.scrapeInterval,
              targets: [
                  ...(postgres?.metricsTargets ?? []),
                  ...(repository?.metricsTargets ?? []),
                  ...(spark?.metricsTargets ?? []),
                  ...(etl?.metricsTargets ?? []),
                  ...(keycloak?.metricsTargets ?? []),
                  ...(edge?.metricsTargets ?? []),
                  ...(logs?.metricsTargets ?? []),
                  ...(traces?.metricsTargets ?? []),
              ],
              tlsProbes: edge ? [edge.tlsProbe] : [],
              alerting: alertingOf(cfg.observability, pulumi.secret),
              thresholds: {
                  etl: etl && cfg.etl.schedule ? { cron: cfg.etl.schedule.cron, timeZone: cfg.etl.schedule.timeZone } : undefined,
                  backups: repository ? { ...DEFAULT_SCHEDULES, ...cfg.postgres.backup.schedules } : undefined,
                  slackSeconds: cfg.observability.slackSeconds,
              },
              uiNetworkIds: edge ? [edge.network.networkId] : [],
              endpointMode: cfg.endpointMode,
              encrypted: cfg.encryptOverlays,
          },
          placed({ dependsOn: cluster.members }),
      )
    : undefined;
const grafana =
    grafanaUp && observability && keycloak && realm
        ? new Grafana(
              GRAFANA,
              {
                  connection: cluster.managerConnection,
                  privateKey,
                  node: obsNodes.grafana!,
                  nodeConnection: cluster.nodeConnections[obsNodes.grafana!],
                  image: cfg.images[GRAFANA_IMAGE],
                  rootUrl: grafanaUrl,
                  networkIds: [observability.network.networkId, keycloak.network.networkId, ...(logs ? [logs.network.networkId] : [])],
                  datasources: {
                      prometheusUrl: `http://${OBS}-prometheus:${METRICS_PORTS.prometheus}`,
                      logs: logs ? { kind: logStore, url: logs.queryUrl } : undefined,
                      tracesUrl: traces?.queryUrl,
                      scrapeInterval: cfg.observability.scrapeInterval,
                  },
                  oidc: {
                      issuerUrl: `${keycloakPublicUrl}/realms/${DEFAULT_REALM}`,
                      internalRealmUrl: `${keycloak.internalUrl}/realms/${DEFAULT_REALM}`,
                      clientId: GRAFANA_CLIENT_ID,
                      clientSecret: realm.clientSecrets[GRAFANA_CLIENT_ID],
                  },
                  realmRoles: DEFAULT_ROLES.map((r) => r.name),
                  endpointMode: cfg.endpointMode,
              },
              placed({ dependsOn: [...cluster.members, realm] }),
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
/** Metrics and alerts: Prometheus' and Alertmanager's services (their UIs behind the edge), the jobs it scrapes; logs and traces stores. */
export const prometheusService = observability?.names.prometheus;
export const alertmanagerService = observability?.names.alertmanager;
export const metricsJobs = observability?.jobs;
export const logStoreService = logs ? { kind: logStore, service: logs.names.store, queryUrl: logs.queryUrl } : undefined;
export const tracesQueryUrl = traces?.queryUrl;
export const grafanaDashboards = grafana?.dashboards;
export const identityClientSecrets =
    realm && cfg.identity.clients.length ? pulumi.secret(pulumi.all(Object.fromEntries(cfg.identity.clients.map((c) => [c.clientId, realm.clientSecrets[c.clientId]])))) : undefined;
