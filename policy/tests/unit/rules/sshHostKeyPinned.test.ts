import type { ResourceValidationPolicy } from "@pulumi/policy";
import { TYPES } from "../../../lib/types";
import { UNKNOWN } from "../../../lib/values";
import { hostKeyProblem, sshHostKeyPinned } from "../../../rules/sshHostKeyPinned";
import { bastion, endpoint, KEYS, managerConnection, network, service, swarmJoin } from "../fixtures";
import { checkResource } from "../harness";

const rule = sshHostKeyPinned("mandatory") as ResourceValidationPolicy;

describe("ssh-host-key-pinned", () => {
    test("compliant: every resource type with host, bastion and alternates pinned", async () => {
        for (const type of Object.values(TYPES)) {
            expect(await checkResource(rule, type, { connection: managerConnection() })).toEqual({ violations: [] });
        }
        expect(await checkResource(rule, TYPES.swarmJoin, swarmJoin("wkr1", "worker"))).toEqual({ violations: [] });
    });

    test("non-compliant: the bastion's host key is missing", async () => {
        const { hostKey: _gone, ...noKey } = bastion();
        const { violations } = await checkResource(rule, TYPES.service, service({ connection: { ...managerConnection(), bastion: noKey } }));
        expect(violations).toEqual([
            {
                message:
                    "connection.bastion.hostKey of bastion-prod (198.51.100.10:22) is missing: without a pinned host key the connection trusts " +
                    "whoever answers at that address, and an impostor receives every command and Docker API call, with the join tokens and " +
                    "secret data they carry. Fix: set hostKey in the stack config to the line `ssh-keyscan -t ed25519 <host>` prints (without the host), checked out of band.",
            },
        ]);
    });

    test("non-compliant: an alternate manager and SwarmJoin's manager connection each with a bad key", async () => {
        const conn = { ...managerConnection(), alternates: [endpoint("mgr2"), { ...endpoint("mgr3"), hostKey: "" }] };
        const join = { ...swarmJoin("wkr1", "worker"), manager: { ...conn, hostKey: "ssh-ed25519 AAAA" } };
        const { violations } = await checkResource(rule, TYPES.swarmJoin, join);
        expect(violations.map((v) => v.message.split(":")[0])).toEqual([
            "manager.hostKey of prod-mgr1 (10.30.0.11",
            "manager.alternates[1].hostKey of prod-mgr3 (10.30.0.13",
        ]);
    });

    test("hostKeyProblem: accepts ssh-keyscan lines, names what is wrong with others", () => {
        expect(hostKeyProblem(KEYS.mgr1)).toBeUndefined();
        expect(hostKeyProblem("198.51.100.11 " + KEYS.mgr1)).toBe('is not "<type> <base64>" (3 parts)');
        expect(hostKeyProblem("ssh-dss AAAAB3NzaC1kc3M=")).toMatch(/^has key type "ssh-dss", not one of ssh-ed25519/);
        expect(hostKeyProblem("ssh-ed25519 not*base64")).toBe("is not base64");
        expect(hostKeyProblem("ecdsa-sha2-nistp256 " + KEYS.mgr1.split(" ")[1])).toBe("says ecdsa-sha2-nistp256 but holds a ssh-ed25519 key");
        expect(hostKeyProblem("ssh-ed25519 AAAA")).toBe("is not a public key (truncated or not a key blob)");
    });

    test("unknown during preview: an unknown connection or host key is not a violation", async () => {
        expect(await checkResource(rule, TYPES.network, network({ connection: UNKNOWN.object }))).toEqual({ violations: [] });
        expect(await checkResource(rule, TYPES.network, network({ connection: { ...managerConnection(), hostKey: UNKNOWN.string } }))).toEqual({ violations: [] });
    });

    test("resources of other providers are not checked", async () => {
        expect(await checkResource(rule, "command:remote:Command", { connection: { host: "x" } })).toEqual({ violations: [] });
    });
});
