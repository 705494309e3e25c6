import { fieldsFromSpec, normalizeImage, renderServiceSpec, ServiceFields, withDefaults } from "../../providers/swarm/serviceSpec";
import { canonical, changedKeys } from "../../providers/swarm/common";

const fields: ServiceFields = {
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

describe("renderServiceSpec", () => {
    test("renders the Docker ServiceSpec", () => {
        expect(renderServiceSpec(fields)).toMatchSnapshot();
    });
});

describe("fieldsFromSpec", () => {
    test("a rendered spec reads back as the same fields (no diff for an unchanged service)", () => {
        const live = renderServiceSpec(withDefaults(fields));
        // Swarm pins the image digest and fills in defaults we did not ask for.
        live.TaskTemplate.ContainerSpec.Image += "@sha256:" + "a".repeat(64);
        (live.TaskTemplate as Record<string, unknown>).ForceUpdate = 0;
        const back = fieldsFromSpec(live, fields);
        expect(changedKeys(withDefaults(fields), back, Object.keys(back) as (keyof ServiceFields)[])).toEqual([]);
        expect(canonical(back)).toEqual(canonical(withDefaults(fields)));
    });

    test("a change made by hand shows exactly that change", () => {
        const live = renderServiceSpec(withDefaults(fields));
        live.Mode.Replicated!.Replicas = 3;
        const back = fieldsFromSpec(live, fields);
        expect(changedKeys(withDefaults(fields), back, ["name", "image", "replicas", "env", "networks", "ports", "labels", "constraints"])).toEqual(["replicas"]);
    });
});

describe("normalizeImage", () => {
    test.each([
        ["reg:5000/a:1@sha256:abc", "reg:5000/a:1", "reg:5000/a:1"],
        ["reg:5000/a:1@sha256:abc", "reg:5000/a:1@sha256:abc", "reg:5000/a:1@sha256:abc"],
        ["reg:5000/a:1", undefined, "reg:5000/a:1"],
    ])("%s wanted as %s reads as %s", (live, wanted, expected) => {
        expect(normalizeImage(live, wanted)).toBe(expected);
    });
});
