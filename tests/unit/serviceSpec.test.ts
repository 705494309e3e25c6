import * as fs from "fs";
import * as path from "path";
import {
    diffServiceFields,
    DockerServiceSpec,
    fieldsFromSpec,
    normalizeImage,
    renderServiceSpec,
    SERVICE_FIELDS,
    ServiceFields,
    withDefaults,
} from "../../providers/swarm/serviceSpec";
import { canonical, changedKeys } from "../../providers/swarm/common";

const demo: ServiceFields = {
    name: "demo-web",
    image: "198.18.20.2:5000/lab/busybox:1.35",
    replicas: 2,
    command: ["httpd", "-f", "-p", "8080"],
    env: { B: "2", A: "1=x" },
    labels: { "swarm-etl.stack": "demo" },
    networks: ["net-id"],
    endpointMode: "dnsrr",
    ports: [{ target: 8080, published: 8080, mode: "host" }],
    constraints: ["node.role==worker"],
};

// The inspect of a service created from exactly these fields in the lab (`docker service inspect`,
// through the Engine API): tests/unit/fixtures/serviceInspect.full.json.
const inspect = JSON.parse(fs.readFileSync(path.join(__dirname, "fixtures/serviceInspect.full.json"), "utf8")) as { Spec: DockerServiceSpec };
const NET_ID = inspect.Spec.TaskTemplate.Networks![0].Target;
const full: ServiceFields = {
    name: "svc-fixture",
    image: "198.18.20.2:5000/lab/busybox:1.35",
    mode: "replicated",
    replicas: 2,
    command: ["httpd"],
    args: ["-f", "-p", "8080", "-h", "/etc"],
    env: { B: "2", A: "1=x" },
    user: "65534:65534",
    workdir: "/tmp",
    secrets: [{ secretId: inspect.Spec.TaskTemplate.ContainerSpec.Secrets![0].SecretID, secretName: "svc-fix-sec", target: "token", mode: 0o400 }],
    configs: [{ configId: inspect.Spec.TaskTemplate.ContainerSpec.Configs![0].ConfigID, configName: "svc-fix-cfg", target: "/etc/app.conf" }],
    mounts: [
        { type: "volume", source: "svc-fix-data", target: "/data", volume: { labels: { a: "b" }, noCopy: true } },
        { type: "bind", source: "/tmp", target: "/host-tmp", readOnly: true, bind: { propagation: "rprivate" } },
        { type: "tmpfs", target: "/scratch", tmpfs: { size: "16M", mode: 0o1777 } },
    ],
    networks: [{ target: "svc-fix-net", aliases: ["web", "www"] }],
    constraints: ["node.role==worker"],
    preferences: ["node.labels.zone"],
    maxReplicasPerNode: 1,
    resources: { limits: { cpus: 0.5, memory: "64M" }, reservations: { cpus: 0.1, memory: "16M" } },
    restartPolicy: { condition: "on-failure", delay: "2s", maxAttempts: 3, window: "10s" },
    updateConfig: { delay: "1s", order: "start-first", monitor: "3s" },
    rollbackConfig: { parallelism: 2 },
    healthcheck: { test: "wget -q -O /dev/null http://127.0.0.1:8080/hostname || exit 1", interval: "2s", timeout: "1s", retries: 3, startPeriod: "1s" },
    endpointMode: "dnsrr",
    ports: [{ target: 8080, published: 18080, mode: "host" }],
    labels: { "swarm-etl.test": "fixture" },
    logDriver: { name: "json-file", options: { "max-size": "1m" } },
    stopGracePeriod: "5s",
};
const names = { [NET_ID]: "svc-fix-net" };
const live = () => JSON.parse(JSON.stringify(inspect.Spec)) as DockerServiceSpec;
const drift = (spec: DockerServiceSpec, wanted: ServiceFields = full) => changedKeys(withDefaults(wanted), fieldsFromSpec(spec, wanted, names), SERVICE_FIELDS);

describe("renderServiceSpec", () => {
    test("renders the demo service's Docker ServiceSpec, every default explicit", () => {
        expect(renderServiceSpec(demo)).toMatchSnapshot();
    });

    test("resolv.conf options render as the container's DNSConfig and read back", () => {
        const withDns = { ...full, dnsOptions: ["timeout:1", "attempts:2"] };
        const rendered = renderServiceSpec(withDns);
        expect(rendered.TaskTemplate.ContainerSpec.DNSConfig).toEqual({ Options: ["timeout:1", "attempts:2"] });
        expect(fieldsFromSpec(rendered, withDns, names).dnsOptions).toEqual(["timeout:1", "attempts:2"]);
    });

    test("added capabilities (normalized to CAP_…) and sysctls render into the ContainerSpec and read back", () => {
        const withCaps = { ...full, capAdd: ["net_admin"], sysctls: { "net.ipv4.ip_forward": "1" } };
        const rendered = renderServiceSpec(withCaps);
        expect(rendered.TaskTemplate.ContainerSpec.CapabilityAdd).toEqual(["CAP_NET_ADMIN"]);
        expect(rendered.TaskTemplate.ContainerSpec.Sysctls).toEqual({ "net.ipv4.ip_forward": "1" });
        const read = fieldsFromSpec(rendered, withCaps, names);
        expect(read.capAdd).toEqual(["CAP_NET_ADMIN"]);
        expect(read.sysctls).toEqual({ "net.ipv4.ip_forward": "1" });
        expect(changedKeys(withDefaults(withCaps), read, SERVICE_FIELDS)).toEqual([]);
        expect(renderServiceSpec(full).TaskTemplate.ContainerSpec.CapabilityAdd).toBeUndefined();
    });

    test("renders a full spec (every managed field)", () => {
        expect(renderServiceSpec(full)).toMatchSnapshot();
    });

    test("is what the daemon stores: the rendered spec is the live one, less what the daemon adds", () => {
        const spec = renderServiceSpec({ ...full, networks: [{ target: NET_ID, aliases: ["web", "www"] }] });
        const stored = live();
        delete (stored.TaskTemplate as { Runtime?: string }).Runtime;
        delete (stored.TaskTemplate.ContainerSpec as { Isolation?: string }).Isolation;
        delete stored.TaskTemplate.ForceUpdate;
        expect(canonical(spec)).toEqual(canonical(stored));
    });

    test.each([
        ["replicated", { Replicated: { Replicas: 3 } }, true],
        ["global", { Global: {} }, true],
        ["replicated-job", { ReplicatedJob: { MaxConcurrent: 3, TotalCompletions: 3 } }, false],
        ["global-job", { GlobalJob: {} }, false],
    ] as const)("mode %s renders Mode %j; update/rollback config only for services that keep running (%s)", (mode, rendered, rolling) => {
        const spec = renderServiceSpec({ name: "svc-m", image: "i:1", mode, ...(mode.startsWith("replicated") ? { replicas: 3 } : {}) });
        expect(spec.Mode).toEqual(rendered);
        expect(spec.UpdateConfig !== undefined).toBe(rolling);
        expect(spec.RollbackConfig !== undefined).toBe(rolling);
        expect(spec.TaskTemplate.RestartPolicy!.Condition).toBe(rolling ? "any" : "on-failure");
    });

    test("a failed update is rolled back by Swarm by default, watched for 5 s per task", () => {
        expect(renderServiceSpec(demo).UpdateConfig).toEqual({ Parallelism: 1, FailureAction: "rollback", Monitor: 5e9, MaxFailureRatio: 0, Order: "stop-first" });
    });

    test("secrets and configs are files with uid/gid 0 and mode 0444 unless given", () => {
        const spec = renderServiceSpec({
            ...demo,
            secrets: [{ secretId: "sid", secretName: "db-password", target: "db_password" }],
            configs: [{ configId: "cid", configName: "app-conf", target: "/etc/app.conf", uid: "100", gid: "101", mode: 0o440 }],
        });
        expect(spec.TaskTemplate.ContainerSpec.Secrets).toEqual([{ SecretID: "sid", SecretName: "db-password", File: { Name: "db_password", UID: "0", GID: "0", Mode: 0o444 } }]);
        expect(spec.TaskTemplate.ContainerSpec.Configs).toEqual([{ ConfigID: "cid", ConfigName: "app-conf", File: { Name: "/etc/app.conf", UID: "100", GID: "101", Mode: 0o440 } }]);
    });
});

describe("fieldsFromSpec", () => {
    test("the live spec of a service created from the full fields reads back with no diff", () => {
        expect(drift(live())).toEqual([]);
        expect(canonical(fieldsFromSpec(live(), full, names))).toEqual(canonical(withDefaults(full)));
    });

    test("what Swarm and the docker CLI add (pinned digest, platforms, init, DNS config, force counter) is no diff", () => {
        const spec = live() as DockerServiceSpec & { TaskTemplate: Record<string, unknown> };
        spec.TaskTemplate.ContainerSpec.Image += "@sha256:" + "a".repeat(64);
        Object.assign(spec.TaskTemplate.ContainerSpec, { Init: false, DNSConfig: {}, Labels: {} });
        Object.assign(spec.TaskTemplate, { ForceUpdate: 2, Placement: { ...spec.TaskTemplate.Placement, Platforms: [{ Architecture: "amd64", OS: "linux" }] } });
        expect(drift(spec)).toEqual([]);
    });

    test.each<[string, (s: DockerServiceSpec) => void, keyof ServiceFields]>([
        ["docker service scale svc-fixture=3", (s) => (s.Mode.Replicated!.Replicas = 3), "replicas"],
        ["--env-add C=3", (s) => s.TaskTemplate.ContainerSpec.Env!.push("C=3"), "env"],
        ["--image …:1.35.0", (s) => (s.TaskTemplate.ContainerSpec.Image = "198.18.20.2:5000/lab/busybox:1.35.0@sha256:" + "b".repeat(64)), "image"],
        ["--label-add x=y", (s) => (s.Labels!.x = "y"), "labels"],
        ["--update-failure-action pause", (s) => (s.UpdateConfig!.FailureAction = "pause"), "updateConfig"],
        ["--network-rm svc-fix-net", (s) => delete s.TaskTemplate.Networks, "networks"],
        ["--limit-memory 128M", (s) => (s.TaskTemplate.Resources!.Limits!.MemoryBytes = 128 * 1024 ** 2), "resources"],
        ["--stop-grace-period 10s", (s) => (s.TaskTemplate.ContainerSpec.StopGracePeriod = 10e9), "stopGracePeriod"],
        ["--dns-option timeout:1", (s) => (s.TaskTemplate.ContainerSpec.DNSConfig = { Options: ["timeout:1"] }), "dnsOptions"],
        ["--cap-add SYS_ADMIN", (s) => (s.TaskTemplate.ContainerSpec.CapabilityAdd = ["CAP_SYS_ADMIN"]), "capAdd"],
        ["--sysctl net.ipv4.ip_forward=1", (s) => (s.TaskTemplate.ContainerSpec.Sysctls = { "net.ipv4.ip_forward": "1" }), "sysctls"],
        ["--health-retries 5", (s) => (s.TaskTemplate.ContainerSpec.Healthcheck!.Retries = 5), "healthcheck"],
        ["--secret-rm svc-fix-sec", (s) => delete s.TaskTemplate.ContainerSpec.Secrets, "secrets"],
        ["--mount-rm /scratch", (s) => s.TaskTemplate.ContainerSpec.Mounts!.pop(), "mounts"],
        ["--restart-max-attempts 5", (s) => (s.TaskTemplate.RestartPolicy!.MaxAttempts = 5), "restartPolicy"],
        ["--replicas-max-per-node 2", (s) => (s.TaskTemplate.Placement!.MaxReplicas = 2), "maxReplicasPerNode"],
    ])("a change by hand (%s) shows exactly that change", (_what, change, key) => {
        const spec = live();
        change(spec);
        expect(drift(spec)).toEqual([key]);
    });

    test("a service without UpdateConfig reads as Swarm's defaults: only the failure action differs from ours", () => {
        const spec = live();
        delete spec.UpdateConfig;
        const back = fieldsFromSpec(spec, full, names);
        expect(back.updateConfig).toEqual({ parallelism: 1, delay: "0s", failureAction: "pause", monitor: "5s", maxFailureRatio: 0, order: "stop-first" });
        expect(drift(spec)).toEqual(["updateConfig"]);
    });

    test("a network asked for by name reads back as that name; by ID as that ID", () => {
        expect(fieldsFromSpec(live(), full, names).networks).toEqual([{ target: "svc-fix-net", aliases: ["web", "www"] }]);
        expect(fieldsFromSpec(live(), { ...full, networks: [NET_ID] }, names).networks).toEqual([{ target: NET_ID, aliases: ["web", "www"] }]);
    });

    test("jobs read back with their mode, completions and concurrency", () => {
        const spec = renderServiceSpec({ name: "svc-j", image: "i:1", mode: "replicated-job", replicas: 4, maxConcurrent: 2 });
        expect(fieldsFromSpec(spec)).toMatchObject({ mode: "replicated-job", replicas: 4, maxConcurrent: 2 });
        expect(fieldsFromSpec(spec).updateConfig).toBeUndefined();
    });
});

describe("diffServiceFields", () => {
    test("outputs stored by the previous provider version (networks as IDs, no mode, no policies) show no diff", () => {
        const stored = { ...withDefaults(demo), ports: [{ target: 8080, published: 8080, protocol: "tcp", mode: "host" }], networks: ["net-id"], connection: {}, serviceId: "x" };
        delete (stored as Partial<ServiceFields>).mode;
        delete (stored as Partial<ServiceFields>).restartPolicy;
        delete (stored as Partial<ServiceFields>).updateConfig;
        expect(diffServiceFields(stored as ServiceFields, demo)).toEqual({ replaces: [], updates: [] });
    });

    test.each<[string, Partial<ServiceFields>, { replaces: string[]; updates: string[] }]>([
        ["networks", { networks: ["other-net"] }, { replaces: [], updates: ["networks"] }],
        ["network aliases", { networks: [{ target: "net-id", aliases: ["api"] }] }, { replaces: [], updates: ["networks"] }],
        ["image", { image: "198.18.20.2:5000/lab/busybox:1.35.0" }, { replaces: [], updates: ["image"] }],
        ["secrets", { secrets: [{ secretId: "s", secretName: "n", target: "t" }] }, { replaces: [], updates: ["secrets"] }],
        ["mode replicated -> global", { mode: "global", replicas: undefined }, { replaces: ["mode"], updates: ["replicas"] }],
        ["mode replicated -> replicated-job", { mode: "replicated-job" }, { replaces: ["mode"], updates: ["maxConcurrent", "restartPolicy", "updateConfig", "rollbackConfig"] }],
        ["name", { name: "demo-web2" }, { replaces: ["name"], updates: [] }],
        ["a duration written differently (90s vs 1m30s)", { stopGracePeriod: "90s" }, { replaces: [], updates: [] }],
    ])("a change of %s", (_what, change, expected) => {
        const before = { ...demo, stopGracePeriod: "1m30s" };
        expect(diffServiceFields(before, { ...before, ...change })).toEqual(expected);
    });
});

describe("normalizeImage", () => {
    test.each([
        ["reg:5000/a:1@sha256:abc", "reg:5000/a:1", "reg:5000/a:1"],
        ["reg:5000/a:1@sha256:abc", "reg:5000/a:1@sha256:abc", "reg:5000/a:1@sha256:abc"],
        ["reg:5000/a:1", undefined, "reg:5000/a:1"],
    ])("%s wanted as %s reads as %s", (liveImage, wanted, expected) => {
        expect(normalizeImage(liveImage, wanted)).toBe(expected);
    });
});
