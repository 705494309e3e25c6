import type { ResourceValidationPolicy } from "@pulumi/policy";
import { fixedProfile } from "../../../lib/profile";
import { TYPES } from "../../../lib/types";
import { UNKNOWN } from "../../../lib/values";
import { prodAutolock } from "../../../rules/prodAutolock";
import { swarmInit } from "../fixtures";
import { checkResource } from "../harness";

const prod = prodAutolock("mandatory", fixedProfile("prod")) as ResourceValidationPolicy;

describe("prod-autolock", () => {
    test("compliant: prod swarm with autolock true", async () => {
        expect(await checkResource(prod, TYPES.swarmInit, swarmInit())).toEqual({ violations: [] });
    });

    test("non-compliant: prod swarm without autolock", async () => {
        const { autolock: _off, ...props } = swarmInit();
        const { violations } = await checkResource(prod, TYPES.swarmInit, props);
        expect(violations).toHaveLength(1);
        expect(violations[0].message).toBe(
            "the swarm is initialized with autolock not set (off): the Raft log (with every Swarm secret and the TLS keys) then sits " +
                "unencrypted on each manager's disk, readable by anyone who gets a manager's disk or backup. " +
                "Fix: set swarm-etl:autolock true (prod's default) and keep the unlock key (docker swarm unlock-key) in your secret store. [profile prod, from fixed]",
        );
    });

    test("non-compliant: autolock false", async () => {
        expect((await checkResource(prod, TYPES.swarmInit, swarmInit({ autolock: false }))).violations[0].message).toContain("autolock false:");
    });

    test("unknown during preview: not a violation", async () => {
        expect(await checkResource(prod, TYPES.swarmInit, swarmInit({ autolock: UNKNOWN.boolean }))).toEqual({ violations: [] });
    });

    test("other resource types are not checked", async () => {
        expect(await checkResource(prod, TYPES.swarmJoin, { autolock: false })).toEqual({ violations: [] });
    });

    test("not applicable outside prod", async () => {
        const dev = prodAutolock("mandatory", fixedProfile("dev")) as ResourceValidationPolicy;
        expect(await checkResource(dev, TYPES.swarmInit, swarmInit({ autolock: false }))).toEqual({ violations: [], notApplicable: "profile dev: autolock is required in prod only" });
    });
});
