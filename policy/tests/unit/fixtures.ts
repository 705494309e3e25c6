// Inputs as the program declares them (components/cluster/swarmCluster.ts planCluster,
// components/stacks/*), with the host keys of Pulumi.prod.yaml. Each builder gives a resource
// that passes every rule; tests change one thing at a time.
import { TYPES } from "../../lib/types";
import { UNKNOWN } from "../../lib/values";
import type { StackResource } from "./harness";

export const KEYS = {
    bastion: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAII5+mrUh0ze4G5C4AMscms4M58FFU69xEhL/KQCCaVvH",
    mgr1: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILX/5nOcYWcW2x85PHrJO+i6x9qFvxSR9lX78IMWuWLG",
    mgr2: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHwmb8Od74txQAY4fKU2uK9UbVEQHCLm+r2Nn1Pu3P7w",
    mgr3: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGINW43RZfexeQypVtrpDdPxWDEntJNXhVgATC8rOUwW",
    wkr1: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEvd8siG0SGKfbQHXdjbMGmUGwFuPl6Qicqkb3q81iN+",
    wkr2: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJnCnrAhVnZBjLogjk4NJ+CkeGwoRF2sUEA26JqWs09l",
} as const;

const ADDR: Record<string, string> = { mgr1: "10.30.0.11", mgr2: "10.30.0.12", mgr3: "10.30.0.13", wkr1: "10.30.1.21", wkr2: "10.30.1.22" };

export const bastion = () => ({ name: "bastion-prod", host: "198.51.100.10", port: 22, user: "deploy", hostKey: KEYS.bastion as string });

/** The connection of a host (through the bastion). */
export const endpoint = (host: keyof typeof ADDR & keyof typeof KEYS) => ({ name: `prod-${host}`, host: ADDR[host], port: 22, user: "deploy", hostKey: KEYS[host] as string });

/** What stacks use: the first manager through the bastion, the other managers as alternates. */
export const managerConnection = () => ({ ...endpoint("mgr1"), bastion: bastion(), alternates: [endpoint("mgr2"), endpoint("mgr3")] });

const PRIVATE_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\n(test)\n-----END OPENSSH PRIVATE KEY-----\n";

/** A stateless API service that passes every rule. */
export const service = (over: Record<string, unknown> = {}) => ({
    connection: managerConnection(),
    privateKey: PRIVATE_KEY,
    providerVersion: "2",
    name: "etl-api",
    image: "registry.prod.example.com/etl/api:1.4.2",
    mode: "replicated",
    replicas: 2,
    env: { LOG_LEVEL: "info", POSTGRES_HOST: "etl-db", POSTGRES_PASSWORD_FILE: "/run/secrets/postgres_password" },
    secrets: [{ secretId: UNKNOWN.string, secretName: UNKNOWN.string, target: "postgres_password" }],
    networks: [UNKNOWN.string],
    healthcheck: { test: "wget -q -O- http://127.0.0.1:8080/health", interval: "10s", timeout: "3s", retries: 3 },
    resources: { limits: { cpus: 1, memory: "512M" }, reservations: { memory: "256M" } },
    restartPolicy: { condition: "any", delay: "5s", window: "60s" },
    labels: { "swarm-etl.stack": "etl" },
    endpointMode: "vip",
    ...over,
});

/** A PostgreSQL service that passes every rule: pinned to labelled nodes, data on a named volume. */
export const postgres = (over: Record<string, unknown> = {}) =>
    service({
        name: "etl-db",
        image: "registry.prod.example.com/etl/postgres:15.8",
        replicas: 1,
        env: { POSTGRES_USER: "etl", POSTGRES_DB: "etl", POSTGRES_PASSWORD_FILE: "/run/secrets/postgres_password", PGDATA: "/var/lib/postgresql/data" },
        healthcheck: { test: ["CMD", "pg_isready", "-U", "etl"], interval: "10s" },
        constraints: ["node.labels.etl.storage==postgres"],
        mounts: [{ type: "volume", source: "etl-pgdata", target: "/var/lib/postgresql/data" }],
        labels: { "swarm-etl.stack": "etl", "swarm-etl.database": "true" },
        ...over,
    });

/** The auth proxy (oauth2-proxy): the one service that publishes ports for UIs. */
export const authProxy = (over: Record<string, unknown> = {}) =>
    service({
        name: "auth-proxy",
        image: "registry.prod.example.com/etl/oauth2-proxy:7.15.4",
        ports: [{ target: 4180, published: 443, protocol: "tcp", mode: "ingress" }],
        labels: { "swarm-etl.auth-proxy": "true" },
        ...over,
    });

/** An overlay network carrying data, encrypted. */
export const network = (over: Record<string, unknown> = {}) => ({
    connection: managerConnection(),
    privateKey: PRIVATE_KEY,
    providerVersion: "2",
    name: "etl-data",
    attachable: true,
    internal: false,
    encrypted: true,
    labels: { "swarm-etl.stack": "etl" },
    ...over,
});

/** SwarmInit as SwarmCluster declares it (+ autolock from config). */
export const swarmInit = (over: Record<string, unknown> = {}) => ({
    connection: { ...endpoint("mgr1"), bastion: bastion() },
    privateKey: PRIVATE_KEY,
    providerVersion: "2",
    advertiseAddr: "10.30.0.11",
    listenAddr: "10.30.0.11:2377",
    dataPathAddr: "10.30.0.11",
    autolock: true,
    swarmId: UNKNOWN.string,
    nodeId: UNKNOWN.string,
    ...over,
});

type Host = "mgr1" | "mgr2" | "mgr3" | "wkr1" | "wkr2";

/** A SwarmJoin of `host` with `role`. */
export const swarmJoin = (host: Host, role: string | typeof UNKNOWN.string) => ({
    connection: { ...endpoint(host), bastion: bastion() },
    privateKey: PRIVATE_KEY,
    providerVersion: "2",
    role,
    swarmId: UNKNOWN.string,
    joinToken: UNKNOWN.string,
    remoteAddrs: [UNKNOWN.string],
    advertiseAddr: ADDR[host],
    listenAddr: `${ADDR[host]}:2377`,
    dataPathAddr: ADDR[host],
    manager: managerConnection(),
    nodeId: UNKNOWN.string,
    hostname: UNKNOWN.string,
});

export interface ClusterShape {
    managers: Host[];
    workers?: Host[];
    /** Availability each NodeSpec sets, per host; hosts left out get no NodeSpec. */
    availability?: Partial<Record<Host, string>>;
    /** Node labels the NodeSpec of a host (in `availability`) sets. @default - {} */
    labels?: Partial<Record<Host, Record<string, string> | typeof UNKNOWN.object>>;
    /**
     * How a NodeSpec names its node: `dependency` as in a preview of new nodes (node: join.nodeId,
     * unknown, with a property dependency on the SwarmJoin), `name` by host name. @default - dependency
     */
    nodeRef?: "dependency" | "name";
}

/**
 * The resources SwarmCluster declares: SwarmInit on the first manager, a SwarmJoin for every host
 * (the first manager's adopts what init made), a NodeSpec per host.
 */
export function cluster(shape: ClusterShape): StackResource[] {
    const [first] = shape.managers;
    const res: StackResource[] = [
        { type: "swarm:cluster:SwarmCluster", name: "swarm", props: {} },
        { type: TYPES.swarmInit, name: "swarm", props: swarmInit({ connection: { ...endpoint(first), bastion: bastion() } }) },
        ...shape.managers.map((h) => ({ type: TYPES.swarmJoin, name: `swarm-${h}`, props: swarmJoin(h, "manager") })),
        ...(shape.workers ?? []).map((h) => ({ type: TYPES.swarmJoin, name: `swarm-${h}`, props: swarmJoin(h, "worker") })),
    ];
    for (const [host, availability] of Object.entries(shape.availability ?? {})) {
        const byName = shape.nodeRef === "name";
        res.push({
            type: TYPES.nodeSpec,
            name: `swarm-${host}-spec`,
            props: { connection: managerConnection(), privateKey: PRIVATE_KEY, node: byName ? `prod-${host}` : UNKNOWN.string, availability, labels: shape.labels?.[host as Host] ?? {} },
            propertyDependencies: byName ? {} : { node: [`swarm-${host}`] },
        });
    }
    return res;
}

/** The prod cluster of Pulumi.prod.yaml, managers drained. */
export const prodCluster = () => cluster({ managers: ["mgr1", "mgr2", "mgr3"], workers: ["wkr1", "wkr2"], availability: { mgr1: "drain", mgr2: "drain", mgr3: "drain", wkr1: "active", wkr2: "active" } });
