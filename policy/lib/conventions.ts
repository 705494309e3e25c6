// The conventions services and networks follow so the rules can tell what they are
// (docs/policy.md, "Conventions"). Labels are Swarm service/network labels under `swarm-etl.`;
// "true"/"false" are the only values read. An explicit "false" overrides what the heuristics
// (image name, ports) would conclude.
import { isObject, isUnknown, knownItems, knownString } from "./values";
import type { PortProps, ServiceProps } from "./types";

export const LABELS = {
    /** The service serves a web UI to people: it must not publish ports; the auth proxy fronts it. */
    ui: "swarm-etl.ui",
    /** The service is the auth proxy: the one service that may publish ports for UIs. */
    authProxy: "swarm-etl.auth-proxy",
    /** The service keeps state on disk: pinned to labelled nodes, with a volume. */
    stateful: "swarm-etl.stateful",
    /** The service is a database: its ports are never published (implies stateful). */
    database: "swarm-etl.database",
    /** On a network: "false" when it carries no application data (exempt from encryption). */
    data: "swarm-etl.data",
    /** A cron expression: with 0 replicas the service is a template the scheduler runs as Swarm jobs. */
    schedule: "swarm-etl.schedule",
    /** The service must never run twice at once (a scheduler): one replica is right, also in prod. */
    singleton: "swarm-etl.singleton",
    /** "manager": the service may use its manager's Docker API through the mounted socket. */
    dockerApi: "swarm-etl.docker-api",
} as const;

/** Well-known database ports: never published outside the swarm. */
export const DATABASE_PORTS: Readonly<Record<number, string>> = {
    5432: "PostgreSQL",
    6432: "PgBouncer",
    3306: "MySQL/MariaDB",
    33060: "MySQL X protocol",
    6379: "Redis",
    27017: "MongoDB",
    9042: "Cassandra",
    1433: "SQL Server",
    1521: "Oracle",
    5984: "CouchDB",
    26257: "CockroachDB",
    9200: "Elasticsearch",
    11211: "Memcached",
};

/** Image repositories (last path part) that are databases. */
const DATABASE_IMAGES = new Set(["postgres", "postgresql", "mysql", "mariadb", "redis", "mongo", "mongodb", "cassandra", "couchdb", "cockroach", "mssql-server", "elasticsearch", "memcached", "timescaledb", "postgis"]);

/** Image repositories (last path part) that are web UIs for people. */
const UI_IMAGES = new Set(["grafana", "kibana", "pgadmin4", "pgadmin", "adminer", "prometheus", "alertmanager", "portainer", "jupyter", "superset", "metabase"]);

export interface ImageRef {
    /** Registry host[:port] and path, without tag or digest. */
    repository: string;
    /** Last path part of the repository (`busybox` of `reg:5000/lab/busybox`). */
    name: string;
    tag?: string;
    digest?: string;
}

/** Splits an image reference; the registry's `:port` is not a tag. */
export function parseImage(ref: string): ImageRef {
    let rest = ref.trim();
    let digest: string | undefined;
    const at = rest.indexOf("@");
    if (at >= 0) {
        digest = rest.slice(at + 1);
        rest = rest.slice(0, at);
    }
    const slash = rest.lastIndexOf("/");
    const colon = rest.lastIndexOf(":");
    let tag: string | undefined;
    if (colon > slash) {
        tag = rest.slice(colon + 1);
        rest = rest.slice(0, colon);
    }
    const name = rest.slice(rest.lastIndexOf("/") + 1).toLowerCase();
    return { repository: rest, name, tag: tag || undefined, digest: digest || undefined };
}

/**
 * A `"true"`/`"false"` label: its value, "unset" when the label is absent, "unknown" while the
 * labels (or this one) are not known yet.
 */
function labelFlag(s: ServiceProps, key: string): boolean | "unset" | "unknown" {
    if (isUnknown(s.labels)) return "unknown";
    if (!isObject(s.labels)) return "unset";
    const v = s.labels[key];
    if (isUnknown(v)) return "unknown";
    return v === "true" ? true : v === "false" ? false : "unset";
}

/** The service's published ports that are known. */
export function publishedPorts(s: ServiceProps): PortProps[] {
    return knownItems(s.ports).filter(isObject) as PortProps[];
}

/** The last path part of the image, undefined while the image is unknown. */
function imageName(s: ServiceProps): string | undefined {
    const image = knownString(s.image);
    return image ? parseImage(image).name : undefined;
}

/** The label if it is set, else what the image says; undefined when it cannot be told yet. */
function classify(s: ServiceProps, key: string, images: ReadonlySet<string>): boolean | undefined {
    const label = labelFlag(s, key);
    if (label === "unknown") return undefined;
    if (label !== "unset") return label;
    if (isUnknown(s.image)) return undefined;
    const name = imageName(s);
    return !!name && images.has(name);
}

/** A database: labelled so, or a database image (unless labelled `swarm-etl.database=false`). Undefined: not known yet. */
export const isDatabase = (s: ServiceProps) => classify(s, LABELS.database, DATABASE_IMAGES);

/** A web UI for people: labelled so, or a well-known UI image (unless labelled `swarm-etl.ui=false`). Undefined: not known yet. */
export const isUi = (s: ServiceProps) => classify(s, LABELS.ui, UI_IMAGES);

/** The auth proxy: labelled `swarm-etl.auth-proxy=true`. Undefined: not known yet. */
export function isAuthProxy(s: ServiceProps): boolean | undefined {
    const label = labelFlag(s, LABELS.authProxy);
    return label === "unknown" ? undefined : label === true;
}

/** Stateful: labelled so, or a database (unless labelled `swarm-etl.stateful=false`). Undefined: not known yet. */
export function isStateful(s: ServiceProps): boolean | undefined {
    const label = labelFlag(s, LABELS.stateful);
    if (label === "unknown") return undefined;
    if (label !== "unset") return label;
    return isDatabase(s);
}

/**
 * The service's mode: "replicated" when missing (the provider's default), undefined when unknown.
 * Replicated and global services run until stopped ("long-running"); the job modes run to completion.
 */
export function serviceMode(s: ServiceProps): string | undefined {
    const mode = s.mode === undefined || s.mode === null ? "replicated" : knownString(s.mode);
    // A scheduled template (0 replicas, swarm-etl.schedule) only ever runs as jobs made from it.
    if (mode === "replicated" && s.replicas === 0 && isObject(s.labels) && typeof s.labels[LABELS.schedule] === "string") return "replicated-job";
    return mode;
}

/** True when labelled `<key>=true`. */
export const hasFlag = (s: ServiceProps, key: string) => labelFlag(s, key) === true;

export const isLongRunningMode = (mode: string) => mode === "replicated" || mode === "global";

/** `service "etl-db"` (or the resource name while the service name is unknown). */
export function serviceTitle(s: ServiceProps, resourceName: string): string {
    const name = knownString(s.name);
    return `service ${JSON.stringify(name ?? resourceName)}`;
}

const portPart = (v: unknown) => (typeof v === "number" ? String(v) : "?");

/** `8080->80/tcp (ingress)`; unknown parts print as `?`. */
export function formatPort(p: PortProps): string {
    const protocol = p.protocol === "udp" ? "udp" : "tcp";
    const mode = p.mode === "host" ? "host" : "ingress";
    return `${portPart(p.published)}->${portPart(p.target)}/${protocol} (${mode})`;
}
