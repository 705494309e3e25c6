// Pulumi mocks that record every resource the program registers, with outputs shaped like the
// real providers' (IDs, node IDs, join tokens), so component graphs can be asserted exactly.
import * as pulumi from "@pulumi/pulumi";
import { ConfigError, parseStackConfig } from "../../config/schema";

export interface Registered {
    type: string;
    name: string;
    inputs: Record<string, unknown>;
}

export function installMocks(): Registered[] {
    const registered: Registered[] = [];
    pulumi.runtime.setMocks(
        {
            newResource(args: pulumi.runtime.MockResourceArgs) {
                registered.push({ type: args.type, name: args.name, inputs: args.inputs });
                const state: Record<string, unknown> = { ...args.inputs };
                switch (args.type) {
                    case "pulumi-nodejs:dynamic/swarm:SwarmInit":
                        Object.assign(state, {
                            swarmId: "swarm-id-1",
                            nodeId: `node-${args.inputs.connection.name}`,
                            workerToken: "SWMTKN-1-worker",
                            managerToken: "SWMTKN-1-manager",
                            joinAddr: `${args.inputs.advertiseAddr}:2377`,
                            unlockKey: args.inputs.autolock ? "SWMKEY-1-unlock" : "",
                        });
                        return { id: "swarm-id-1", state };
                    case "pulumi-nodejs:dynamic/swarm:SwarmJoin":
                        Object.assign(state, { nodeId: `node-${args.inputs.connection.name}`, hostname: args.inputs.connection.name });
                        return { id: `node-${args.inputs.connection.name}`, state };
                    case "pulumi-nodejs:dynamic/swarm:Network":
                        return { id: `net-${args.name}`, state: { ...state, networkId: `net-${args.name}`, liveSubnet: state.subnet ?? "10.0.9.0/24" } };
                    case "pulumi-nodejs:dynamic/swarm:Service":
                        return { id: `svc-${args.name}`, state: { ...state, serviceId: `svc-${args.name}` } };
                    default:
                        return { id: `${args.name}-id`, state };
                }
            },
            call: (args: pulumi.runtime.MockCallArgs) => args.inputs,
        },
        "swarm-etl",
        "test",
        false,
    );
    return registered;
}

/** Resolves an Output in a mocked program. */
export function valueOf<T>(o: pulumi.Output<T>): Promise<T> {
    return new Promise((resolve) => o.apply(resolve));
}

export const HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";

const digest = (c: string) => `sha256:${c.repeat(64)}`;
/** Platform images as images/build.sh records them. */
export const LAB_IMAGES = {
    postgres: `198.18.20.2:5000/swarm-etl/postgres@${digest("a")}`,
    "postgres-etcd": `198.18.20.2:5000/swarm-etl/postgres-etcd@${digest("b")}`,
    "postgres-router": `198.18.20.2:5000/swarm-etl/postgres-router@${digest("c")}`,
    scheduler: `198.18.20.2:5000/swarm-etl/scheduler@${digest("d")}`,
    spark: `198.18.20.2:5000/swarm-etl/spark@${digest("e")}`,
    "etl-pushgateway": `198.18.20.2:5000/swarm-etl/etl-pushgateway@${digest("f")}`,
    "identity-keycloak": `198.18.20.2:5000/swarm-etl/identity-keycloak@${digest("9")}`,
    "edge-proxy": `198.18.20.2:5000/swarm-etl/edge-proxy@${digest("8")}`,
    "edge-auth": `198.18.20.2:5000/swarm-etl/edge-auth@${digest("7")}`,
    ...Object.fromEntries(
        ["observability-prometheus", "observability-alertmanager", "observability-node-exporter", "observability-swarm-exporter", "observability-socket-proxy", "observability-blackbox", "observability-cadvisor", "logs-collector", "logs-victorialogs", "traces-jaeger"].map((n, i) => [
            n,
            `198.18.20.2:5000/swarm-etl/${n}@${digest("0123456789"[i])}`,
        ]),
    ),
};

/** A complete, valid lab configuration (the shape `lab/lab.sh up` writes). */
export function labConfig(overrides: Record<string, unknown> = {}): Record<string, unknown> {
    return {
        profile: "lab",
        sshUser: "root",
        sshPrivateKeyPath: "/var/lib/swarm-etl-lab/ssh/id_ed25519",
        bastion: { name: "bastion", publicAddress: "198.18.10.2", privateAddress: "198.18.20.2", hostKey: HOST_KEY },
        managers: [1, 2, 3].map((i) => ({ name: `mgr${i}`, publicAddress: `198.18.10.${10 + i}`, privateAddress: `198.18.20.${10 + i}`, hostKey: HOST_KEY, ...(i === 3 ? { labels: { "swarm-etl.spark": "master" } } : {}) })),
        workers: [1, 2].map((i) => ({ name: `wkr${i}`, privateAddress: `198.18.20.${20 + i}`, hostKey: HOST_KEY, labels: { "swarm-etl.postgres": "true", "swarm-etl.spark": "worker" } })),
        network: { publicCidr: "198.18.10.0/24", privateCidr: "198.18.20.0/24" },
        registry: "198.18.20.2:5000",
        endpointMode: "dnsrr",
        publishMode: "host",
        encryptOverlays: false,
        images: LAB_IMAGES,
        ...overrides,
    };
}

/** The problems `parseStackConfig` reports for `raw` (a config it accepts fails the test). */
export function configProblems(raw: Record<string, unknown>, options: Parameters<typeof parseStackConfig>[1] = {}): string[] {
    try {
        parseStackConfig(raw, options);
    } catch (err) {
        if (err instanceof ConfigError) return err.problems;
        throw err;
    }
    throw new Error("the configuration was accepted");
}
