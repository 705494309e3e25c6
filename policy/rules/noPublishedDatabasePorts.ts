// no-published-database-ports: no service publishes a database port outside the swarm, and a
// database service publishes no port at all. Services reach databases over an overlay network.
import type { EnforcementLevel, ResourceValidationPolicy } from "@pulumi/policy";
import { DATABASE_PORTS, formatPort, isDatabase, LABELS, publishedPorts, serviceTitle } from "../lib/conventions";
import { validateTypes } from "../lib/rule";
import { TYPES, type ServiceProps } from "../lib/types";

export const NAME = "no-published-database-ports";

export function noPublishedDatabasePorts(enforcementLevel: EnforcementLevel): ResourceValidationPolicy {
    return {
        name: NAME,
        description: "No service publishes a database port outside the swarm; databases publish no ports.",
        enforcementLevel,
        severity: "critical",
        validateResource: validateTypes<ServiceProps>([TYPES.service], (props, args, report) => {
            const title = serviceTitle(props, args.name);
            const database = isDatabase(props) === true;
            for (const p of publishedPorts(props)) {
                const engine = DATABASE_PORTS[p.target as number] ?? DATABASE_PORTS[p.published as number]; // unknown ports match nothing
                if (!engine && !database) continue;
                const what = engine ? `the ${engine} port` : `a port of a database (label ${LABELS.database} or a database image)`;
                report(
                    `${title} publishes ${what} ${formatPort(p)}: a published port is reachable from outside the swarm, so the database's ` +
                        `login becomes the only thing between the network and the data. ` +
                        `Fix: remove the port from ports; clients in the swarm reach the database by its service name over a shared overlay ` +
                        `network (an operator uses an SSH tunnel through the bastion).`,
                );
            }
        }),
    };
}
