// How people and tools reach the cluster: an OpenSSH config snippet (every node through the
// bastion, host keys pinned) and an Ansible inventory (YAML, the bastion as jump host). Pure
// functions of the cluster's hosts: no secret goes in, none comes out.
import YAML = require("yaml");

export interface AccessHost {
    name: string;
    /** Address SSH connects to (the private address for nodes, the public one for the bastion). */
    address: string;
    port: number;
    user: string;
    hostKey: string;
    role: "bastion" | "manager" | "worker";
    labels?: Record<string, string>;
}

export interface AccessArgs {
    bastion: AccessHost;
    nodes: readonly AccessHost[];
    /** Private key file on the operator's machine. */
    identityFile: string;
    /** known_hosts file on the operator's machine (write the `knownHosts` output to it). */
    knownHostsFile: string;
}

/**
 * known_hosts lines, one per host, keyed by the host's name: the SSH config sets `HostKeyAlias`
 * to it, so keys stay pinned whatever address or port a node is reached on.
 */
export function knownHosts(a: AccessArgs): string {
    return [a.bastion, ...a.nodes].map((h) => `${h.name} ${h.hostKey}\n`).join("");
}

/** An OpenSSH client config: `ssh -F <file> <node>` reaches every node through the bastion. */
export function sshConfig(a: AccessArgs): string {
    const common = (h: AccessHost) => [
        `    HostName ${h.address}`,
        `    Port ${h.port}`,
        `    User ${h.user}`,
        `    IdentityFile ${a.identityFile}`,
        `    IdentitiesOnly yes`,
        `    HostKeyAlias ${h.name}`,
        `    UserKnownHostsFile ${a.knownHostsFile}`,
        `    StrictHostKeyChecking yes`,
    ];
    const blocks = [
        [`Host ${a.bastion.name}`, ...common(a.bastion)],
        ...a.nodes.map((h) => [`Host ${h.name}`, ...common(h), `    ProxyJump ${a.bastion.name}`]),
    ];
    return blocks.map((b) => b.join("\n") + "\n").join("\n");
}

/** Quotes one word for the shell (Ansible splits ssh args with shlex). */
function shq(s: string): string {
    return /^[A-Za-z0-9_@%+=:,./~-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** An Ansible inventory (YAML): groups managers and workers, every connection through the bastion. */
export function ansibleInventory(a: AccessArgs): string {
    const pin = ["-o", "IdentitiesOnly=yes", "-o", `UserKnownHostsFile=${a.knownHostsFile}`, "-o", "StrictHostKeyChecking=yes"];
    const b = a.bastion;
    const jump = ["ssh", "-W", "%h:%p", "-p", String(b.port), "-i", a.identityFile, ...pin, "-o", `HostKeyAlias=${b.name}`, `${b.user}@${b.address}`];
    const proxy = `ProxyCommand=${jump.map(shq).join(" ")}`;
    const hostVars = (h: AccessHost) => ({
        ansible_host: h.address,
        ansible_port: h.port,
        ansible_user: h.user,
        ansible_ssh_extra_args: `-o HostKeyAlias=${h.name}`,
        swarm_role: h.role,
        ...(h.labels && Object.keys(h.labels).length ? { swarm_labels: h.labels } : {}),
    });
    const group = (role: AccessHost["role"]) => Object.fromEntries(a.nodes.filter((h) => h.role === role).map((h) => [h.name, hostVars(h)]));
    const inventory = {
        all: {
            vars: {
                ansible_ssh_private_key_file: a.identityFile,
                ansible_ssh_common_args: [...pin, "-o", proxy].map(shq).join(" "),
            },
            children: {
                managers: { hosts: group("manager") },
                workers: { hosts: group("worker") },
            },
        },
    };
    return YAML.stringify(inventory, { lineWidth: 0 });
}
