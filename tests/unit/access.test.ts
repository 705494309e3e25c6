import YAML = require("yaml");
import { ansibleInventory, AccessArgs, knownHosts, sshConfig } from "../../components/cluster/access";
import { compareVersions } from "../../providers/swarm/hostCheck";
import { otherManagers } from "../../providers/swarm/retire";
import { HOST_KEY } from "./mocks";

const args: AccessArgs = {
    bastion: { name: "bastion", address: "203.0.113.10", port: 22, user: "jump", hostKey: HOST_KEY, role: "bastion" },
    nodes: [
        { name: "mgr1", address: "10.20.0.11", port: 22, user: "deploy", hostKey: HOST_KEY, role: "manager" },
        { name: "wkr1", address: "10.20.0.21", port: 2222, user: "deploy", hostKey: HOST_KEY, role: "worker", labels: { "etl.storage": "ssd" } },
    ],
    identityFile: "~/.ssh/swarm-etl-dev",
    knownHostsFile: "~/.ssh/swarm-etl-dev.known_hosts",
};

describe("access outputs", () => {
    test("known_hosts pins every host under its name", () => {
        expect(knownHosts(args)).toBe(`bastion ${HOST_KEY}\nmgr1 ${HOST_KEY}\nwkr1 ${HOST_KEY}\n`);
    });

    test("the SSH config reaches every node through the bastion, host keys pinned", () => {
        expect(sshConfig(args)).toBe(
            [
                "Host bastion",
                "    HostName 203.0.113.10",
                "    Port 22",
                "    User jump",
                "    IdentityFile ~/.ssh/swarm-etl-dev",
                "    IdentitiesOnly yes",
                "    HostKeyAlias bastion",
                "    UserKnownHostsFile ~/.ssh/swarm-etl-dev.known_hosts",
                "    StrictHostKeyChecking yes",
                "",
                "Host mgr1",
                "    HostName 10.20.0.11",
                "    Port 22",
                "    User deploy",
                "    IdentityFile ~/.ssh/swarm-etl-dev",
                "    IdentitiesOnly yes",
                "    HostKeyAlias mgr1",
                "    UserKnownHostsFile ~/.ssh/swarm-etl-dev.known_hosts",
                "    StrictHostKeyChecking yes",
                "    ProxyJump bastion",
                "",
                "Host wkr1",
                "    HostName 10.20.0.21",
                "    Port 2222",
                "    User deploy",
                "    IdentityFile ~/.ssh/swarm-etl-dev",
                "    IdentitiesOnly yes",
                "    HostKeyAlias wkr1",
                "    UserKnownHostsFile ~/.ssh/swarm-etl-dev.known_hosts",
                "    StrictHostKeyChecking yes",
                "    ProxyJump bastion",
                "",
            ].join("\n"),
        );
        expect(sshConfig(args)).not.toMatch(/StrictHostKeyChecking (no|accept-new)/);
    });

    test("the Ansible inventory groups the nodes and jumps through the pinned bastion", () => {
        const inv = YAML.parse(ansibleInventory(args));
        expect(inv.all.children.managers.hosts).toEqual({
            mgr1: { ansible_host: "10.20.0.11", ansible_port: 22, ansible_user: "deploy", ansible_ssh_extra_args: "-o HostKeyAlias=mgr1", swarm_role: "manager" },
        });
        expect(inv.all.children.workers.hosts.wkr1).toMatchObject({ ansible_port: 2222, swarm_labels: { "etl.storage": "ssd" } });
        expect(inv.all.vars).toEqual({
            ansible_ssh_private_key_file: "~/.ssh/swarm-etl-dev",
            ansible_ssh_common_args:
                "-o IdentitiesOnly=yes -o UserKnownHostsFile=~/.ssh/swarm-etl-dev.known_hosts -o StrictHostKeyChecking=yes " +
                "-o 'ProxyCommand=ssh -W %h:%p -p 22 -i ~/.ssh/swarm-etl-dev -o IdentitiesOnly=yes -o UserKnownHostsFile=~/.ssh/swarm-etl-dev.known_hosts -o StrictHostKeyChecking=yes -o HostKeyAlias=bastion jump@203.0.113.10'",
        });
    });
});

describe("compareVersions (host check)", () => {
    test.each([
        ["26.1.5+dfsg1", "20.10", 1],
        ["20.10.24+dfsg1", "20.10", 0],
        ["20.9.0", "20.10", -1],
        ["19.03.15", "20.10", -1],
        ["24.0.7", "24.0", 0],
    ])("%s against %s: %d", (v, min, expected) => {
        expect(compareVersions(v, min)).toBe(expected);
    });
});

describe("otherManagers (retiring a node)", () => {
    const bastion = { name: "bastion", host: "203.0.113.10", port: 22, user: "root", hostKey: HOST_KEY };
    const ep = (i: number) => ({ name: `mgr${i}`, host: `10.0.0.${i}`, port: 22, user: "root", hostKey: HOST_KEY });
    const managers = { ...ep(1), bastion, privateKey: "k", alternates: [ep(2), ep(3)] };

    test("skips the node itself and keeps the rest as alternates, through the same bastion", () => {
        expect(otherManagers(managers, { ...ep(1), bastion, privateKey: "k" })).toEqual({ ...ep(2), bastion, privateKey: "k", alternates: [ep(3)] });
        expect(otherManagers(managers, { ...ep(3), bastion, privateKey: "k" })).toEqual({ ...ep(1), bastion, privateKey: "k", alternates: [ep(2)] });
    });

    test("none when the node is the only manager", () => {
        expect(otherManagers({ ...ep(1), bastion, privateKey: "k" }, { ...ep(1), bastion, privateKey: "k" })).toBeUndefined();
    });
});
