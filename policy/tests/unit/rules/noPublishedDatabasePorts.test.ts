import type { ResourceValidationPolicy } from "@pulumi/policy";
import { TYPES } from "../../../lib/types";
import { UNKNOWN } from "../../../lib/values";
import { noPublishedDatabasePorts } from "../../../rules/noPublishedDatabasePorts";
import { authProxy, postgres, service } from "../fixtures";
import { checkResource } from "../harness";

const rule = noPublishedDatabasePorts("mandatory") as ResourceValidationPolicy;

describe("no-published-database-ports", () => {
    test("compliant: a database without ports, a proxy publishing 443", async () => {
        expect(await checkResource(rule, TYPES.service, postgres())).toEqual({ violations: [] });
        expect(await checkResource(rule, TYPES.service, authProxy())).toEqual({ violations: [] });
    });

    test("non-compliant: PostgreSQL's port published in host mode", async () => {
        const props = postgres({ ports: [{ target: 5432, published: 5432, mode: "host" }] });
        expect((await checkResource(rule, TYPES.service, props)).violations).toEqual([
            {
                message:
                    'service "etl-db" publishes the PostgreSQL port 5432->5432/tcp (host): a published port is reachable from outside the swarm, ' +
                    "so the database's login becomes the only thing between the network and the data. Fix: remove the port from ports; clients in " +
                    "the swarm reach the database by its service name over a shared overlay network (an operator uses an SSH tunnel through the bastion).",
            },
        ]);
    });

    test("non-compliant: a Redis port on an unlabelled service, and any port of a labelled database", async () => {
        const redis = service({ name: "cache", ports: [{ target: 6379, published: 16379 }] });
        expect((await checkResource(rule, TYPES.service, redis)).violations[0].message).toContain('service "cache" publishes the Redis port 16379->6379/tcp (ingress)');
        const db = postgres({ ports: [{ target: 8008, published: 8008 }] });
        expect((await checkResource(rule, TYPES.service, db)).violations[0].message).toContain("publishes a port of a database (label swarm-etl.database or a database image) 8008->8008/tcp (ingress)");
    });

    test("a database image is a database unless labelled swarm-etl.database=false", async () => {
        const byImage = service({ image: "registry.prod.example.com/library/mariadb:11.4", labels: {}, ports: [{ target: 8080, published: 8080 }] });
        expect((await checkResource(rule, TYPES.service, byImage)).violations).toHaveLength(1);
        const optedOut = { ...byImage, labels: { "swarm-etl.database": "false" } };
        expect((await checkResource(rule, TYPES.service, optedOut)).violations).toEqual([]);
    });

    test("unknown during preview: unknown ports are not a violation", async () => {
        expect(await checkResource(rule, TYPES.service, postgres({ ports: UNKNOWN.array }))).toEqual({ violations: [] });
        expect(await checkResource(rule, TYPES.service, service({ ports: [{ target: UNKNOWN.number, published: UNKNOWN.number }] }))).toEqual({ violations: [] });
    });
});
