import { validateService } from "../../providers/swarm/serviceCheck";
import { liveAsAsked } from "../../providers/swarm/service";
import { fixFor, runsSpec } from "../../providers/swarm/serviceConverge";
import { ServiceFields, withDefaults } from "../../providers/swarm/serviceSpec";
import { byteSize, durationNs, formatDuration, normalizeDuration, UNKNOWN } from "../../providers/swarm/serviceUnits";

const ok: ServiceFields = { name: "svc-a", image: "198.18.20.2:5000/lab/busybox:1.35" };

describe("durations", () => {
    test.each([
        ["10s", 10e9, "10s"],
        ["90s", 90e9, "1m30s"],
        ["1m30s", 90e9, "1m30s"],
        ["1.5s", 1.5e9, "1.5s"],
        ["500ms", 500e6, "500ms"],
        ["2h", 7200e9, "2h0m0s"],
        ["0", 0, "0s"],
        [2.5, 2.5e9, "2.5s"],
    ] as const)("%j is %d ns and reads as %s", (d, nsExpected, text) => {
        expect(durationNs(d)).toBe(nsExpected);
        expect(normalizeDuration(d)).toBe(text);
    });

    test("every canonical duration parses back to the same nanoseconds", () => {
        for (let ns = 1; ns < 1e13; ns = Math.round(ns * 3.7) + 1) expect(durationNs(formatDuration(ns))).toBe(ns);
    });

    test("a bad duration names the value and the syntax", () => {
        expect(() => durationNs("10 seconds")).toThrow(`duration "10 seconds" is not valid: use Go syntax such as "10s", "1m30s", "500ms", or a number of seconds`);
    });

    test("the engine's unknown placeholder passes through (preview of a dependent resource)", () => {
        expect(normalizeDuration(UNKNOWN)).toBe(UNKNOWN);
    });
});

describe("sizes", () => {
    test.each([
        [1024, 1024],
        ["64M", 64 * 1024 ** 2],
        ["64MiB", 64 * 1024 ** 2],
        ["1g", 1024 ** 3],
        ["512k", 512 * 1024],
        ["100", 100],
    ] as const)("%j is %d bytes", (v, bytes) => expect(byteSize(v)).toBe(bytes));

    test("a bad size names the value and the syntax", () => {
        expect(() => byteSize("lots")).toThrow(`size "lots" is not valid: use a number of bytes or a number with a unit such as "64M", "512MiB", "1g"`);
    });
});

describe("validateService", () => {
    test("a minimal service is valid", () => expect(validateService(ok)).toEqual([]));

    test.each<[string, Partial<ServiceFields>, { property: string; reason: string }]>([
        ["a bad name", { name: "-web" }, { property: "name", reason: `service name "-web" is not valid: use 1-63 letters, digits, "-", "_" or ".", starting with a letter or digit` }],
        ["an image with spaces", { image: "busybox latest" }, { property: "image", reason: `"busybox latest" is not an image reference` }],
        ["an unknown mode", { mode: "daemonset" as never }, { property: "mode", reason: `mode "daemonset" is not one of replicated, global, replicated-job, global-job` }],
        ["replicas on a global service", { mode: "global", replicas: 2 }, { property: "replicas", reason: "replicas does not apply to mode global (one task per eligible node); remove it or use mode replicated" }],
        ["negative replicas", { replicas: -1 }, { property: "replicas", reason: "replicas must be a whole number ≥ 0, got -1" }],
        ["zero completions for a job", { mode: "replicated-job", replicas: 0 }, { property: "replicas", reason: "replicas must be a whole number ≥ 1, got 0" }],
        ["maxConcurrent on a replicated service", { maxConcurrent: 2 }, { property: "maxConcurrent", reason: "maxConcurrent applies to mode replicated-job only, not replicated" }],
        [
            "an update config on a job",
            { mode: "global-job", updateConfig: { parallelism: 2 } },
            { property: "updateConfig", reason: `updateConfig does not apply to jobs (Swarm refuses it: "Jobs may not have an update config"); remove it for mode global-job` },
        ],
        ["a zero update monitor", { updateConfig: { monitor: "0s" } }, { property: "updateConfig.monitor", reason: "updateConfig.monitor 0 means Swarm's default (5s); give a duration of at least 1ms" }],
        ["a bad stop grace period", { stopGracePeriod: "soon" }, { property: "stopGracePeriod", reason: `duration "soon" is not valid: use Go syntax such as "10s", "1m30s", "500ms", or a number of seconds` }],
        ["a healthcheck without a test", { healthcheck: { test: ["wget"] } }, { property: "healthcheck.test", reason: `healthcheck.test ["wget"] is not valid: give a shell command, or an array starting with "CMD", "CMD-SHELL" or "NONE"` }],
        ["a bad memory limit", { resources: { limits: { memory: "lots" } } }, { property: "resources.limits.memory", reason: `size "lots" is not valid: use a number of bytes or a number with a unit such as "64M", "512MiB", "1g"` }],
        ["a relative mount target", { mounts: [{ type: "volume", source: "data", target: "data" }] }, { property: "mounts[0].target", reason: `mounts[0].target "data" must be an absolute path in the container` }],
        ["a tmpfs with a source", { mounts: [{ type: "tmpfs", source: "x", target: "/t" }] }, { property: "mounts[0].source", reason: `mounts[0]: a tmpfs mount has no source (got "x"); remove it` }],
        [
            "an ingress port with dnsrr",
            { endpointMode: "dnsrr", ports: [{ target: 80, published: 8080 }] },
            { property: "ports[0]", reason: `port 8080->80 is published in ingress mode, which Swarm refuses with endpointMode dnsrr; set mode: "host" or use endpointMode vip` },
        ],
    ])("%s", (_what, change, failure) => {
        expect(validateService({ ...ok, ...change })).toEqual([failure]);
    });

    test("values the engine does not know yet pass", () => {
        expect(validateService({ ...ok, replicas: UNKNOWN as never, networks: [UNKNOWN], stopGracePeriod: UNKNOWN })).toEqual([]);
    });
});

describe("runsSpec", () => {
    const template = { ContainerSpec: { Image: "i:1", Isolation: "default" }, ForceUpdate: 0, Runtime: "container" };
    test("a task's copy of the spec (without Runtime) runs the current spec", () => {
        expect(runsSpec({ ID: "t", DesiredState: "running", CreatedAt: "", Status: { State: "running" }, Spec: { ContainerSpec: { Isolation: "default", Image: "i:1" }, ForceUpdate: 0 } }, template)).toBe(true);
    });
    test("a task of the previous spec does not", () => {
        expect(runsSpec({ ID: "t", DesiredState: "running", CreatedAt: "", Status: { State: "running" }, Spec: { ContainerSpec: { Image: "i:0", Isolation: "default" }, ForceUpdate: 0 } }, template)).toBe(false);
    });
});

describe("fixFor", () => {
    test.each([
        ["rejected: No such image: reg/a:1", "; check the image reference and that every node can pull it from its registry"],
        ["failed: task: non-zero exit (137): dockerexec: unhealthy container", "; the healthcheck keeps failing: check healthcheck.test against the image, and the task's output with `docker service logs`"],
        ["pending: no suitable node (scheduling constraints not satisfied on 5 nodes)", "; no node satisfies the placement constraints, resources or ports: check constraints, reservations and host-mode ports"],
        ["failed: something new", ""],
    ])("%s", (errors, hint) => expect(fixFor(errors)).toBe(hint));
});

describe("liveAsAsked (what read() hands the engine)", () => {
    const asked: ServiceFields = { ...ok, networks: ["net-id"], stopGracePeriod: "90s", replicas: 2 };
    const live = withDefaults({ ...asked, networks: [{ target: "net-id" }], stopGracePeriod: "1m30s" });

    test("an unchanged field keeps the form it was asked in; one not asked stays unset", () => {
        const back = liveAsAsked(asked, live);
        expect(back).toMatchObject({ networks: ["net-id"], stopGracePeriod: "90s", replicas: 2 });
        expect(back.restartPolicy).toBeUndefined();
    });

    test("a field changed by hand takes its live value", () => {
        const back = liveAsAsked(asked, { ...live, replicas: 5, restartPolicy: { ...live.restartPolicy, condition: "none" } });
        expect(back.replicas).toBe(5);
        expect(back.restartPolicy).toEqual({ condition: "none", delay: "5s", maxAttempts: 0, window: "0s" });
        expect(back.networks).toEqual(["net-id"]);
    });
});
