import type { ResourceValidationPolicy } from "@pulumi/policy";
import { TYPES } from "../../../lib/types";
import { UNKNOWN } from "../../../lib/values";
import { hostPathsReadOnly, systemPath } from "../../../rules/hostPathsReadOnly";
import { service } from "../fixtures";
import { checkResource } from "../harness";

const rule = hostPathsReadOnly("mandatory") as ResourceValidationPolicy;
const bind = (source: string, readOnly?: unknown) => ({ type: "bind", source, target: `/host${source}`, ...(readOnly === undefined ? {} : { readOnly }) });

describe("host-paths-read-only", () => {
    test("compliant: the node exporter's and the log collector's mounts as their components declare them; data on volumes and data directories", async () => {
        const exporter = service({ mounts: [bind("/proc", true), bind("/sys", true), bind("/", true)] });
        const collector = service({ mounts: [bind("/var/lib/docker/containers", true), { type: "volume", source: "logs-collector-state", target: "/var/lib/otelcol" }] });
        const data = service({ mounts: [bind("/srv/pgdata"), bind("/var/lib/swarm-etl/spark"), { type: "volume", source: "etc", target: "/etc/app" }] });
        for (const s of [exporter, collector, data, service()]) expect(await checkResource(rule, TYPES.service, s)).toEqual({ violations: [] });
    });

    test("non-compliant: a writable bind of /, /etc, or a path under Docker's data; each named with its fix", async () => {
        const r = await checkResource(rule, TYPES.service, service({ mounts: [bind("/"), bind("/etc", false), bind("/var/lib/docker/containers/")] }));
        expect(r.violations.map((v) => v.message)).toEqual([
            'service "etl-api" bind-mounts its node\'s / writable at /host/: a task could change its node. Fix: readOnly: true on that mount; keep a service\'s own data on a named volume or a bind mount of a data directory.',
            'service "etl-api" bind-mounts its node\'s /etc writable at /host/etc: a task could change its node. Fix: readOnly: true on that mount; keep a service\'s own data on a named volume or a bind mount of a data directory.',
            'service "etl-api" bind-mounts its node\'s /var/lib/docker/containers/ (under /var/lib/docker) writable at /host/var/lib/docker/containers/: a task could change its node. Fix: readOnly: true on that mount; keep a service\'s own data on a named volume or a bind mount of a data directory.',
        ]);
    });

    test("the Docker socket is another rule's; a path that only starts like a system one is not one", async () => {
        expect(await checkResource(rule, TYPES.service, service({ mounts: [bind("/var/run/docker.sock"), bind("/run/docker.sock")] }))).toEqual({ violations: [] });
        expect(systemPath("/etcd-data")).toBeUndefined();
        expect(systemPath("/usr/local/share")).toBe("/usr");
        expect(systemPath("/var/lib/dockerish")).toBeUndefined();
    });

    test("unknown during preview: unknown mounts or readOnly are not a violation", async () => {
        expect(await checkResource(rule, TYPES.service, service({ mounts: UNKNOWN.array }))).toEqual({ violations: [] });
        expect(await checkResource(rule, TYPES.service, service({ mounts: [bind("/etc", UNKNOWN.string)] }))).toEqual({ violations: [] });
    });
});
