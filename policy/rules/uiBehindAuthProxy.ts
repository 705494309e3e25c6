// ui-behind-auth-proxy: a web UI publishes no port; people reach it through the auth proxy (the
// service labelled swarm-etl.auth-proxy=true), the one service that publishes ports for UIs.
import type { EnforcementLevel, ResourceValidationPolicy } from "@pulumi/policy";
import { formatPort, isAuthProxy, isUi, LABELS, publishedPorts, serviceTitle } from "../lib/conventions";
import { validateTypes } from "../lib/rule";
import { TYPES, type ServiceProps } from "../lib/types";

export const NAME = "ui-behind-auth-proxy";

export function uiBehindAuthProxy(enforcementLevel: EnforcementLevel): ResourceValidationPolicy {
    return {
        name: NAME,
        description: "Web UIs publish no ports: only the auth proxy (label swarm-etl.auth-proxy=true) does.",
        enforcementLevel,
        severity: "high",
        validateResource: validateTypes<ServiceProps>([TYPES.service], (props, args, report) => {
            if (isUi(props) !== true || isAuthProxy(props) !== false) return; // not a UI, the proxy, or not known yet
            const ports = publishedPorts(props);
            if (ports.length === 0) return;
            const list = ports.map(formatPort).join(", ");
            report(
                `${serviceTitle(props, args.name)} is a UI (label ${LABELS.ui}=true or a well-known UI image) and publishes ${list}: ` +
                    `anyone who reaches a node can use it without signing in through the identity provider, and its own login (if any) ` +
                    `is not under the platform's SSO, MFA and audit. ` +
                    `Fix: remove ports, attach it to the auth proxy's overlay network and route to it from the auth proxy ` +
                    `(the service labelled ${LABELS.authProxy}=true). If it is not a UI for people, label it ${LABELS.ui}=false.`,
            );
        }),
    };
}
