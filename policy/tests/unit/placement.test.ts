import { constraintHolds, excludes } from "../../lib/placement";

const manager = { role: "manager", names: ["prod-mgr1", "mgr1.example.com", "n0de1d"], labels: { "swarm-etl.control": "true", "etl.storage": "postgres" } };

describe("placement: Docker's constraints against one node", () => {
    test("node.role, with or without spaces around the operator", () => {
        expect(excludes(["node.role==worker"], manager)).toBe(true);
        expect(excludes(["node.role == worker"], manager)).toBe(true);
        expect(excludes(["node.role==manager"], manager)).toBe(false);
        expect(excludes(["node.role!=manager"], manager)).toBe(true);
        expect(excludes(["node.role != worker"], manager)).toBe(false);
        expect(excludes(["NODE.ROLE==Manager"], manager)).toBe(false); // keys and values compare case-insensitively
    });

    test("node.hostname and node.id match any of the node's names", () => {
        expect(excludes(["node.hostname==prod-mgr1"], manager)).toBe(false);
        expect(excludes(["node.hostname==mgr1.example.com"], manager)).toBe(false);
        expect(excludes(["node.hostname==prod-wkr1"], manager)).toBe(true);
        expect(excludes(["node.hostname!=prod-mgr1"], manager)).toBe(true);
        expect(excludes(["node.id==n0de1d"], manager)).toBe(false);
        expect(excludes(["node.id!=other"], manager)).toBe(false);
    });

    test("node.labels: a missing label equals nothing, so != holds for it", () => {
        expect(excludes(["node.labels.swarm-etl.control!=true"], manager)).toBe(true);
        expect(excludes(["node.labels.swarm-etl.control==true"], manager)).toBe(false);
        expect(excludes(["node.labels.etl.storage==postgres"], manager)).toBe(false);
        expect(excludes(["node.labels.etl.storage==spark"], manager)).toBe(true);
        expect(excludes(["node.labels.swarm-etl.postgres==true"], manager)).toBe(true);
        expect(excludes(["node.labels.swarm-etl.postgres!=true"], manager)).toBe(false);
        expect(excludes(["node.labels.swarm-etl.control!=true"], { role: "worker", names: ["prod-wkr1"], labels: {} })).toBe(false);
        expect(excludes(["node.labels.ETL.storage==postgres"], manager)).toBe(true); // a label's key is case-sensitive
    });

    test("one false constraint excludes; none (or only true ones) do not", () => {
        expect(excludes([], manager)).toBe(false);
        expect(excludes(["node.role==manager", "node.labels.etl.storage==postgres"], manager)).toBe(false);
        expect(excludes(["node.role==manager", "node.labels.swarm-etl.control!=true"], manager)).toBe(true);
    });

    test("attributes it does not model, and what is not a constraint, could match: they never exclude", () => {
        for (const c of ["node.platform.os==windows", "node.platform.arch!=x86_64", "engine.labels.zone==b", "node.ip==10.0.0.1", "node.labels.==x", "node.role", "node.role==", "==worker"]) {
            expect([c, constraintHolds(c, manager)]).toEqual([c, undefined]);
            expect([c, excludes([c], manager)]).toEqual([c, false]);
        }
    });
});
