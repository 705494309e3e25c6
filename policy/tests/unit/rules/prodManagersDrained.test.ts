import type { StackValidationPolicy } from "@pulumi/policy";
import { fixedProfile } from "../../../lib/profile";
import { TYPES } from "../../../lib/types";
import { UNKNOWN } from "../../../lib/values";
import { CONTROL_NODE_LABEL, CONTROL_PLACEMENT, EXCLUDE_CONTROL_CONSTRAINT, PLACEMENT_LABEL, prodManagersDrained } from "../../../rules/prodManagersDrained";
import { cluster, prodCluster, service } from "../fixtures";
import { checkStack, urnOf } from "../harness";

const prod = prodManagersDrained("mandatory", fixedProfile("prod")) as StackValidationPolicy;

describe("prod-managers-drained", () => {
    test("compliant: every prod manager has a NodeSpec with availability drain", async () => {
        expect(await checkStack(prod, prodCluster())).toEqual({ violations: [] });
    });

    test("non-compliant: one manager active, one without a NodeSpec (reported on each manager)", async () => {
        const res = cluster({ managers: ["mgr1", "mgr2", "mgr3"], workers: ["wkr1"], availability: { mgr1: "drain", mgr2: "active" } });
        const { violations } = await checkStack(prod, res);
        expect(violations.map((v) => v.urn)).toEqual([urnOf(TYPES.nodeSpec, "swarm-mgr2-spec"), urnOf(TYPES.swarmJoin, "swarm-mgr3")]);
        expect(violations[0].message).toBe(
            "manager prod-mgr2 has availability active, not drain: tasks scheduled on it compete with Raft and the dispatcher for CPU, memory and disk, " +
                "and a busy or OOM-killed manager can cost the swarm its quorum. " +
                "Fix: drain it with a NodeSpec (availability: drain; swarm-etl:managers[].availability, whose prod default is drain), " +
                'or make it the control manager: label it swarm-etl.control: "true" (swarm-etl:managers[].labels), and only control services run there. [profile prod, from fixed]',
        );
    });

    test("NodeSpecs that name their node by host name are matched too", async () => {
        const res = cluster({ managers: ["mgr1", "mgr2", "mgr3"], availability: { mgr1: "drain", mgr2: "drain", mgr3: "pause" }, nodeRef: "name" });
        const { violations } = await checkStack(prod, res);
        expect(violations.map((v) => v.message.split(":")[0])).toEqual(["manager prod-mgr3 has availability pause, not drain"]);
    });

    test("unknown during preview: an availability not known yet is not a violation", async () => {
        const res = cluster({ managers: ["mgr1", "mgr2", "mgr3"], availability: { mgr1: "drain", mgr2: "drain", mgr3: UNKNOWN.string } });
        expect((await checkStack(prod, res)).violations).toEqual([]);
    });

    test("not applicable outside prod", async () => {
        const lab = prodManagersDrained("mandatory", fixedProfile("lab")) as StackValidationPolicy;
        expect((await checkStack(lab, cluster({ managers: ["mgr1"] }))).notApplicable).toBe("profile lab: managers may run workloads outside prod");
    });

    test("not applicable in dev either, whatever runs on its managers", async () => {
        const dev = prodManagersDrained("mandatory", fixedProfile("dev")) as StackValidationPolicy;
        const res = [...cluster({ managers: ["mgr1"], availability: { mgr1: "active" }, labels: { mgr1: { [CONTROL_NODE_LABEL]: "true" } } }), { type: TYPES.service, name: "api", props: service() }];
        expect(await checkStack(dev, res)).toEqual({ violations: [], notApplicable: "profile dev: managers may run workloads outside prod" });
    });

    test("a manager whose labels are unknown during preview is decided at update", async () => {
        const res = cluster({ managers: ["mgr1", "mgr2", "mgr3"], availability: { mgr1: "active", mgr2: "drain", mgr3: "drain" }, labels: { mgr1: UNKNOWN.object } });
        expect((await checkStack(prod, res)).violations).toEqual([]);
        const oneValue = cluster({ managers: ["mgr1", "mgr2", "mgr3"], availability: { mgr1: "active", mgr2: "drain", mgr3: "drain" }, labels: { mgr1: { [CONTROL_NODE_LABEL]: UNKNOWN.string } } });
        expect((await checkStack(prod, oneValue)).violations).toEqual([]);
    });
});

describe("prod-managers-drained: the control manager", () => {
    test("the strings the program keeps as literals", () => {
        expect([CONTROL_NODE_LABEL, PLACEMENT_LABEL, CONTROL_PLACEMENT, EXCLUDE_CONTROL_CONSTRAINT]).toEqual([
            "swarm-etl.control",
            "swarm-etl.placement",
            "control",
            "node.labels.swarm-etl.control!=true",
        ]);
    });

    /** The prod cluster with mgr1 active and labelled the control manager, plus the services. */
    const withControl = (...services: { name: string; props: object }[]) => [
        ...cluster({
            managers: ["mgr1", "mgr2", "mgr3"],
            workers: ["wkr1", "wkr2"],
            availability: { mgr1: "active", mgr2: "drain", mgr3: "drain", wkr1: "active", wkr2: "active" },
            labels: { mgr1: { "swarm-etl.role": "manager", [CONTROL_NODE_LABEL]: "true" }, wkr1: { "swarm-etl.postgres": "true" } },
        }),
        ...services.map((s) => ({ type: TYPES.service, ...s })),
    ];
    const violationsOf = async (...services: { name: string; props: object }[]) => (await checkStack(prod, withControl(...services))).violations;

    test("compliant: the control services are labelled, every other service is kept off by a constraint", async () => {
        expect(
            await violationsOf(
                { name: "api", props: service({ constraints: ["node.labels.swarm-etl.control!=true"] }) },
                { name: "spark-worker", props: service({ name: "spark-worker", constraints: ["node.role==worker"] }) },
                { name: "socket-proxy", props: service({ name: "obs-socket-proxy", mode: "global", replicas: undefined, labels: { [PLACEMENT_LABEL]: "control" } }) },
                { name: "pg", props: service({ name: "pg-wkr1", constraints: ["node.labels.swarm-etl.postgres==true"] }) },
                { name: "spaced", props: service({ name: "spaced", constraints: ["node.role == manager", " node.hostname != prod-mgr1 "] }) },
            ),
        ).toEqual([]);
    });

    test("the control manager itself (active, labelled) is not a violation", async () => {
        expect(await violationsOf()).toEqual([]);
    });

    test("non-compliant: an unconstrained service, reported on the service with the manager and the fix", async () => {
        const violations = await violationsOf({ name: "api", props: service() });
        expect(violations).toEqual([
            {
                urn: urnOf(TYPES.service, "api"),
                message:
                    'service "etl-api" can be placed on the control manager prod-mgr1 (swarm-etl.control=true, availability active): it has no placement constraints, and it is not a control service. ' +
                    "The control manager is the one manager left active, for the services that read its Docker API; any other task there competes with Raft and the dispatcher for CPU, memory and disk. " +
                    "Fix: add the constraint node.labels.swarm-etl.control!=true (the program adds it to every service that is not a control service), " +
                    "or, when it must run beside Prometheus, label it swarm-etl.placement: control. [profile prod, from fixed]",
            },
        ]);
    });

    test("non-compliant: constraints the control manager satisfies (its host name, the manager role, a label it lacks with !=)", async () => {
        const violations = await violationsOf(
            { name: "pinned", props: service({ name: "pinned", constraints: ["node.hostname==prod-mgr1"] }) },
            { name: "scheduler", props: service({ name: "scheduler", constraints: ["node.role==manager"] }) },
            { name: "not-pg", props: service({ name: "not-pg", constraints: ["node.labels.swarm-etl.postgres!=true"] }) },
            { name: "os", props: service({ name: "os", constraints: ["node.platform.os==linux"] }) },
        );
        expect(violations.map((v) => v.urn)).toEqual(["pinned", "scheduler", "not-pg", "os"].map((n) => urnOf(TYPES.service, n)));
        expect(violations[0].message).toMatch(/^service "pinned" can be placed on the control manager prod-mgr1 \(swarm-etl\.control=true, availability active\): its constraints \["node.hostname==prod-mgr1"\] do not keep it off, /);
    });

    test("a service without a name is named by its resource name", async () => {
        const [v] = await violationsOf({ name: "obs-exporter", props: service({ name: undefined }) });
        expect(v.message).toMatch(/^service "obs-exporter" can be placed on the control manager prod-mgr1/);
    });

    test("unknown during preview: constraints or placement label not known yet are decided at update", async () => {
        expect(
            await violationsOf(
                { name: "a", props: service({ constraints: UNKNOWN.array }) },
                { name: "b", props: service({ constraints: ["node.role==manager", UNKNOWN.string] }) },
                { name: "c", props: service({ labels: UNKNOWN.object }) },
                { name: "d", props: service({ labels: { [PLACEMENT_LABEL]: UNKNOWN.string } }) },
            ),
        ).toEqual([]);
        // known constraints that keep it off decide, whatever the labels
        expect(await violationsOf({ name: "e", props: service({ labels: UNKNOWN.object, constraints: ["node.role==worker"] }) })).toEqual([]);
    });

    test("another placement value is not a control service", async () => {
        const violations = await violationsOf({ name: "api", props: service({ labels: { [PLACEMENT_LABEL]: "Control" } }) });
        expect(violations.map((v) => v.urn)).toEqual([urnOf(TYPES.service, "api")]);
    });

    test("a second active manager without the label is still reported as not drained", async () => {
        const res = [
            ...cluster({
                managers: ["mgr1", "mgr2", "mgr3"],
                availability: { mgr1: "active", mgr2: "active", mgr3: "drain" },
                labels: { mgr1: { [CONTROL_NODE_LABEL]: "true" }, mgr2: { [CONTROL_NODE_LABEL]: "false" } },
            }),
            { type: TYPES.service, name: "api", props: service({ constraints: [EXCLUDE_CONTROL_CONSTRAINT] }) },
        ];
        const { violations } = await checkStack(prod, res);
        expect(violations.map((v) => [v.urn, v.message.split(":")[0]])).toEqual([[urnOf(TYPES.nodeSpec, "swarm-mgr2-spec"), "manager prod-mgr2 has availability active, not drain"]]);
    });
});
