import { PROVIDER_VERSION } from "../../providers/swarm/common";
import { installMocks, Registered, valueOf } from "./mocks";
import { VOLUME_NAME, volumeCheckFailures, volumeDiff, volumeFieldsFromLive, VolumeInputs } from "../../providers/swarm/volume";
import { Volume } from "../../providers/swarm";

const conn = { name: "wkr1", host: "198.18.20.21", port: 22, user: "root", hostKey: "k" };
const olds: VolumeInputs = {
    connection: conn,
    privateKey: "key",
    name: "pg-data",
    driver: "local",
    driverOpts: { type: "tmpfs", device: "tmpfs", o: "size=16m" },
    labels: { "swarm-etl.stack": "pg" },
    providerVersion: PROVIDER_VERSION,
};

describe("volumeFieldsFromLive", () => {
    test("a volume Docker reports with null options and labels reads back as no options and no labels", () => {
        const back = volumeFieldsFromLive({ Name: "v", Driver: "local", Options: null, Labels: null, Mountpoint: "/m" });
        expect(back).toEqual({ name: "v", driver: "local" });
        expect(volumeDiff({ ...olds, name: "v", driverOpts: undefined, labels: undefined }, { ...olds, driverOpts: {}, labels: {}, ...back }).changes).toBe(false);
    });

    test("an unchanged volume shows no diff", () => {
        const back = volumeFieldsFromLive({ Name: "pg-data", Driver: "local", Options: { o: "size=16m", type: "tmpfs", device: "tmpfs" }, Labels: olds.labels, Mountpoint: "/m" });
        expect(volumeDiff({ ...olds, ...back }, olds).changes).toBe(false);
    });
});

describe("volumeDiff: volumes are immutable", () => {
    test("a driverOpts change replaces, deleting the old volume first (same name, same node)", () => {
        expect(volumeDiff(olds, { ...olds, driverOpts: { type: "tmpfs", device: "tmpfs", o: "size=32m" } })).toEqual({
            changes: true,
            replaces: ["driverOpts"],
            detailedDiff: { driverOpts: { kind: "update-replace", inputDiff: true } },
            deleteBeforeReplace: true,
        });
    });

    test("labels and driver changes replace too", () => {
        expect(volumeDiff(olds, { ...olds, labels: {}, driver: "nfs" }).replaces.sort()).toEqual(["driver", "labels"]);
    });

    test("a new name replaces creating the new volume first", () => {
        expect(volumeDiff(olds, { ...olds, name: "pg-data2" })).toMatchObject({ replaces: ["name"], deleteBeforeReplace: false });
    });

    test("another node replaces; a new host key or bastion only updates the connection", () => {
        expect(volumeDiff(olds, { ...olds, connection: { ...conn, host: "198.18.20.22" } })).toMatchObject({ replaces: ["connection"], deleteBeforeReplace: false });
        expect(volumeDiff(olds, { ...olds, connection: { ...conn, hostKey: "k2" } })).toMatchObject({ changes: true, replaces: [] });
        expect(volumeDiff(olds, { ...olds, forceRemove: true })).toMatchObject({ changes: true, replaces: [] });
    });
});

test("volume names follow Docker's rule", () => {
    expect(["pg-data", "a1", "x_y.z"].filter((n) => VOLUME_NAME.test(n))).toHaveLength(3);
    expect(["", "a", "-x", "a/b", "a b"].filter((n) => VOLUME_NAME.test(n))).toEqual([]);
});

describe("Volume resource", () => {
    let registered: Registered[];
    beforeAll(() => {
        registered = installMocks();
    });

    test("registers type pulumi-nodejs:dynamic/swarm:Volume with driver local by default", async () => {
        const v = new Volume("pg-data", { connection: conn, privateKey: "key", name: "pg-data" });
        await valueOf(v.urn);
        const r = registered.find((x) => x.name === "pg-data")!;
        expect(r.type).toBe("pulumi-nodejs:dynamic/swarm:Volume");
        expect(r.inputs).toMatchObject({ name: "pg-data", driver: "local", connection: conn, providerVersion: PROVIDER_VERSION });
    });
});

describe("volumeCheckFailures", () => {
    test("a valid volume passes", () => {
        expect(volumeCheckFailures(olds)).toEqual([]);
    });

    test("a bad name, a non-string option, and a connection with alternates are refused, naming the property and the fix", () => {
        const bad = { ...olds, name: "-x", driverOpts: { size: 3 as unknown as string }, connection: { ...conn, alternates: [{ ...conn, name: "wkr2" }] } };
        expect(volumeCheckFailures(bad)).toEqual([
            { property: "name", reason: 'volume name "-x" is not valid: use 2 or more of [a-zA-Z0-9_.-], starting with a letter or digit' },
            { property: "driverOpts", reason: "driverOpts.size must be a string, got 3" },
            {
                property: "connection",
                reason: "a volume lives on one node, but the connection to wkr1 has alternates (wkr2): a failover would put the volume on another node. Fix: pass the node's own connection without alternates",
            },
        ]);
    });
});
