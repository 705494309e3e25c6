// ssh-host-key-pinned: every SSH connection of every Swarm resource pins the host key, the
// bastion's included (and the other managers a connection fails over to).
import type { EnforcementLevel, ResourceValidationPolicy } from "@pulumi/policy";
import { isSwarmType, type ConnectionProps, type EndpointProps } from "../lib/types";
import { isObject, isUnknown, knownItems, knownString, raw } from "../lib/values";

export const NAME = "ssh-host-key-pinned";

/** Key types OpenSSH prints with `ssh-keyscan`. */
const KEY_TYPES = [
    "ssh-ed25519",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "ssh-rsa",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
];

/** Why `key` is not a pinned public host key, or undefined when it is one. */
export function hostKeyProblem(key: string): string | undefined {
    const parts = key.trim().split(/\s+/);
    if (parts.length !== 2) return `is not "<type> <base64>" (${parts.length} part${parts.length === 1 ? "" : "s"})`;
    const [type, b64] = parts;
    if (!KEY_TYPES.includes(type)) return `has key type ${JSON.stringify(type)}, not one of ${KEY_TYPES.join(", ")}`;
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) return "is not base64";
    // The key blob starts with its own type name (uint32 length + name): a truncated or pasted-wrong key fails here.
    const blob = Buffer.from(b64, "base64");
    const len = blob.length >= 4 ? blob.readUInt32BE(0) : -1;
    const inner = len > 0 && len < 64 && blob.length > 4 + len ? blob.subarray(4, 4 + len).toString("latin1") : "";
    if (inner !== type) return inner ? `says ${type} but holds a ${inner} key` : "is not a public key (truncated or not a key blob)";
    return undefined;
}

interface Hop {
    /** Which input, e.g. `connection.bastion`. */
    path: string;
    endpoint: EndpointProps;
}

/** Every endpoint of a connection: the host, its bastion, its failover alternates. */
function hopsOf(path: string, c: ConnectionProps): Hop[] {
    const hops: Hop[] = [{ path, endpoint: c }];
    if (isObject(c.bastion)) hops.push({ path: `${path}.bastion`, endpoint: c.bastion as EndpointProps });
    knownItems(c.alternates).forEach((a, i) => {
        if (isObject(a)) hops.push({ path: `${path}.alternates[${i}]`, endpoint: a as EndpointProps });
    });
    return hops;
}

export function sshHostKeyPinned(enforcementLevel: EnforcementLevel): ResourceValidationPolicy {
    return {
        name: NAME,
        description: "Every SSH connection (the node, its bastion, its failover managers) pins the host's public key.",
        enforcementLevel,
        severity: "critical",
        // Every resource of our Swarm provider (HostCheck and any added later included).
        validateResource: (args, report) => {
            if (!isSwarmType(args.type)) return;
            const props = raw<Record<string, unknown>>(args.props);
            for (const input of ["connection", "manager"]) {
                const c = props[input];
                if (!isObject(c)) continue; // absent or unknown: nothing to check yet
                for (const hop of hopsOf(input, c as ConnectionProps)) {
                    const key = hop.endpoint.hostKey;
                    if (isUnknown(key)) continue;
                    const port = typeof hop.endpoint.port === "number" ? hop.endpoint.port : 22;
                    const host = `${knownString(hop.endpoint.name) ?? "?"} (${knownString(hop.endpoint.host) ?? "?"}:${port})`;
                    const text = knownString(key);
                    const problem = text === undefined || text.trim() === "" ? "is missing" : hostKeyProblem(text);
                    if (!problem) continue;
                    report(
                        `${hop.path}.hostKey of ${host} ${problem}: without a pinned host key the connection trusts whoever answers at that ` +
                            `address, and an impostor receives every command and Docker API call, with the join tokens and secret data they carry. ` +
                            `Fix: set hostKey in the stack config to the line \`ssh-keyscan -t ed25519 <host>\` prints (without the host), checked out of band.`,
                    );
                }
            }
        },
    };
}
