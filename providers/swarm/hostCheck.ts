// swarm:HostCheck — what a host needs before it can be a node, checked before it joins:
// a Docker Engine that answers, at a supported version (optionally installed with apt-get on a
// fresh Debian/Ubuntu host), and the other nodes' Swarm TCP ports reachable from it (probed
// through the host's own sshd, so nothing has to be installed for it). A failure names the host,
// what failed and the fix. read() reports the engine version as it is now.
import * as pulumi from "@pulumi/pulumi";
import { SshSession, withSession } from "../ssh/connection";
import { changedKeys, ConnectionInputs, daemonMessage, knownProps, plain, PROVIDER_VERSION, toTarget } from "./common";

/** One TCP port of another node that this host must reach. */
export interface PortProbe {
    /** The other node's name (for messages). */
    name: string;
    host: string;
    port: number;
}

export interface HostCheckInputs extends ConnectionInputs {
    /** Oldest accepted Docker Engine, "major.minor". */
    minDockerVersion: string;
    /** Install docker.io with apt-get when the host has no Docker. */
    installDocker: boolean;
    probes: PortProbe[];
    providerVersion: string;
}

export interface HostCheckOutputs extends HostCheckInputs {
    dockerVersion: string;
    operatingSystem: string;
}

const UPDATE_KEYS: (keyof HostCheckInputs)[] = ["connection", "minDockerVersion", "installDocker", "probes", "providerVersion"];

/** -1, 0 or 1: "26.1.5+dfsg1" against "20.10" (major.minor only). */
export function compareVersions(version: string, min: string): number {
    const parse = (v: string) => (/^(\d+)\.(\d+)/.exec(v) ?? ["", "0", "0"]).slice(1, 3).map(Number);
    const [a, b] = [parse(version), parse(min)];
    return a[0] !== b[0] ? Math.sign(a[0] - b[0]) : Math.sign(a[1] - b[1]);
}

const INSTALL =
    "set -e; SUDO=; [ \"$(id -u)\" = 0 ] || SUDO='sudo -n'; " +
    "command -v apt-get >/dev/null || { echo 'no apt-get: not a Debian/Ubuntu host' >&2; exit 3; }; " +
    "$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq && " +
    "$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null && " +
    "$SUDO systemctl enable --now docker";

async function engine(s: SshSession): Promise<{ version: string; os: string } | string> {
    try {
        const docker = s.docker();
        const [v, info] = await Promise.all([docker.version(), docker.info()]);
        return { version: v.Version, os: info.OperatingSystem ?? "" };
    } catch (err) {
        return daemonMessage(err);
    }
}

async function check(p: HostCheckInputs): Promise<HostCheckOutputs> {
    const name = p.connection.name;
    return withSession({ ...toTarget(p), alternates: undefined }, async (s) => {
        let found = await engine(s);
        if (typeof found === "string" && p.installDocker) {
            pulumi.log.info(`installing docker.io on ${name} (hostCheck.installDocker)`);
            const r = await s.exec(INSTALL, 600_000);
            if (r.code !== 0) throw new Error(`installing Docker on ${name} failed (exit ${r.code}): ${(r.stderr || r.stdout).trim().slice(-500)}; fix: install Docker on ${name} by hand`);
            found = await engine(s);
        }
        if (typeof found === "string") {
            throw new Error(
                `${name} has no working Docker Engine (${found}); fix: install and start Docker on ${name} ` +
                    `(on Debian/Ubuntu, set swarm-etl:hostCheck.installDocker to true and the program installs docker.io)`,
            );
        }
        if (compareVersions(found.version, p.minDockerVersion) < 0) {
            throw new Error(
                `${name} runs Docker ${found.version}, older than the supported ${p.minDockerVersion}; fix: upgrade Docker on ${name}, ` +
                    `or lower swarm-etl:hostCheck.minDockerVersion if you accept the risk`,
            );
        }
        const results = await Promise.all(p.probes.map(async (probe) => ({ probe, r: await s.probeTcp(probe.host, probe.port) })));
        const blocked = results.filter((x) => x.r.result === "blocked");
        if (blocked.length > 0) {
            throw new Error(
                `from ${name}, Swarm ports of other nodes do not answer: ` +
                    blocked.map((b) => `${b.probe.name} ${b.probe.host}:${b.probe.port} (${b.r.detail})`).join(", ") +
                    `; fix: allow TCP 2377 (to managers), TCP/UDP 7946 and UDP 4789 between the nodes' private addresses`,
            );
        }
        return { ...p, dockerVersion: found.version, operatingSystem: found.os };
    });
}

const provider: pulumi.dynamic.ResourceProvider<HostCheckInputs, HostCheckOutputs> = {
    async create(inputs) {
        const outs = await check(inputs);
        return { id: `${inputs.connection.name}-check`, outs: plain(outs) };
    },

    async read(id, maybeProps) {
        const props = knownProps(maybeProps, "swarm:HostCheck");
        const found = await withSession({ ...toTarget(props), alternates: undefined }, engine);
        if (typeof found === "string") return { id, props: plain({ ...props, dockerVersion: "", operatingSystem: "" }) };
        return { id, props: plain({ ...props, dockerVersion: found.version, operatingSystem: found.os }) };
    },

    async diff(_id, olds, news) {
        // A host whose engine stopped answering (read() saw no version) is checked again.
        const changes = changedKeys(olds, news, UPDATE_KEYS).length > 0 || !olds.dockerVersion;
        return { changes };
    },

    async update(_id, _olds, news) {
        return { outs: plain(await check(news)) };
    },
};

export interface HostCheckArgs {
    connection: pulumi.Input<ConnectionInputs["connection"]>;
    privateKey: pulumi.Input<string>;
    /** @default - "20.10" */
    minDockerVersion?: pulumi.Input<string>;
    /** @default - false */
    installDocker?: pulumi.Input<boolean>;
    /** Other nodes' ports this host must reach. @default - none */
    probes?: pulumi.Input<PortProbe[]>;
}

/** Checks a host before it joins the swarm. */
export class HostCheck extends pulumi.dynamic.Resource {
    declare public readonly dockerVersion: pulumi.Output<string>;
    declare public readonly operatingSystem: pulumi.Output<string>;

    constructor(name: string, args: HostCheckArgs, opts?: pulumi.CustomResourceOptions) {
        const props = {
            ...args,
            minDockerVersion: args.minDockerVersion ?? "20.10",
            installDocker: args.installDocker ?? false,
            probes: args.probes ?? [],
            providerVersion: PROVIDER_VERSION,
            dockerVersion: undefined,
            operatingSystem: undefined,
        };
        super(provider, name, props, pulumi.mergeOptions(opts, { additionalSecretOutputs: ["privateKey"] }), "swarm", "HostCheck");
    }
}
