// The `swarm-etl:observability` slice of the stack config (zod): metrics and alerts (Prometheus,
// Alertmanager, the exporters), logs, traces and Grafana, with their defaults, placement and the
// problems that need the rest of the config (nodes, images, the edge), reported by the stack schema
// under their keys.
//
// Placement. Prometheus reads the swarm through a manager's Docker API (a read-only proxy whose
// socket it shares by a volume), so it and Alertmanager run on a manager: the control manager.
// prod drains its managers; there one manager carries `swarm-etl.control: "true"`, stays active, and
// runs only the control services (labelled swarm-etl.placement=control): every other service gets
// the constraint CONTROL_EXCLUDED (components/placement.ts), and the policy pack checks both.
import { z } from "zod";
import { CONTROL_NODE_LABEL } from "../../placement";
import { LOG_STORES, type LogStoreKind } from "../logs/render";
import { LOGS_IMAGES } from "../logs/logs";
import { TRACES_IMAGE } from "../traces/traces";
import { GRAFANA_IMAGE } from "../grafana/grafana";
import type * as pulumi from "@pulumi/pulumi";
import { type AlertingArgs, OBSERVABILITY_IMAGES, observabilityArgsProblems, type ReceiverArgs } from "./observability";

/** The node label of prod's control manager (active, running only the control services). */
export const CONTROL_LABEL = CONTROL_NODE_LABEL;
/** The node label of the node that keeps the log and trace stores' data (and Grafana's) when observability.logs.node etc. are unset. */
export const STORES_LABEL = "swarm-etl.observability";

const DURATION_RE = /^[1-9]\d*(?:ms|s|m|h|d|w|y)$/;
const RETENTION_RE = /^[1-9]\d*[hdw]$/;
const duration = z.string().regex(DURATION_RE, { message: "is not a Prometheus duration; fix: e.g. 15d, 12h or 30s" });
const retention = z.string().regex(RETENTION_RE, { message: "is not a number of hours, days or weeks; fix: e.g. 12h, 7d or 4w" });
const node = z.string().min(1).optional();

const receiverSchema = z
    .strictObject({
        name: z.string().regex(/^[A-Za-z0-9_-]+$/, { message: "is not a receiver name; fix: letters, digits, _ and -" }),
        /** Alertmanager posts every notification (firing and resolved) here as JSON. */
        webhook: z.strictObject({ url: z.string() }).optional(),
        /** Mail through your relay; `password` is a config secret (`pulumi config set --secret --path 'observability.alerting.receivers[0].email.password'`), a Swarm secret on the cluster. */
        email: z.strictObject({ to: z.string(), from: z.string(), smarthost: z.string(), username: z.string().optional(), password: z.string().optional(), requireTls: z.boolean().optional() }).optional(),
        /** A chat's incoming webhook in Slack's format (Slack, Mattermost, Rocket.Chat): `url` holds its token, so it is a config secret too. */
        chat: z.strictObject({ url: z.string().regex(/^https?:\/\/\S+$/, { message: "is not an http(s) URL; fix: the chat's incoming webhook URL, as a config secret" }), channel: z.string().optional() }).optional(),
    })
    .refine((r) => r.webhook || r.email || r.chat, { message: "has no destination; fix: give it a webhook, an email or a chat (or remove it)" });

export const observabilityConfigSchema = z.strictObject({
    /** Deploy metrics and alerts (Prometheus, Alertmanager, the exporters), and the logs, traces and Grafana below. @default - true */
    enabled: z.boolean().default(true),
    /** The manager that runs Prometheus and Alertmanager and keeps their data. @default - the manager labelled swarm-etl.control=true, else the first active manager */
    node,
    /** How long Prometheus keeps samples. @default - 15d */
    retention: duration.default("15d"),
    /** @default - 15s */
    scrapeInterval: duration.default("15s"),
    /** Per-container metrics (cAdvisor on every node). @default - true */
    containers: z.boolean().default(true),
    /** How late an ETL run or a backup may be past its schedule's longest gap before its alert fires, in seconds. @default - 7200 */
    slackSeconds: z.number().int().min(60).default(7200),
    alerting: z
        .strictObject({
            /** Where alerts go: each a webhook, an email, a chat, or several (the lab may have none: alerts then stay in Alertmanager's UI). */
            receivers: z.array(receiverSchema).default([]),
            /** The receiver of what no route matches. @default - the first receiver */
            defaultReceiver: z.string().optional(),
            /** Routes in order: the first whose matchers (`label=value`, `label=~regex`) all match. */
            routes: z.array(z.strictObject({ matchers: z.array(z.string()).min(1), receiver: z.string() })).default([]),
        })
        .prefault({}),
    /** Every container's log, from every node, in the log store. */
    logs: z
        .strictObject({
            /** @default - true (with observability) */
            enabled: z.boolean().default(true),
            /** The store: loki (its image from your registry, `images.logs-loki`) or victorialogs (built here). @default - loki (lab: victorialogs) */
            store: z.enum(LOG_STORES).optional(),
            /** The store's node. @default - the node labelled swarm-etl.observability=true, else the first active worker, else the first active manager that is not the control manager */
            node,
            retention: retention.default("7d"),
        })
        .prefault({}),
    /** The programs' spans (the ETL's runs, Keycloak) in Jaeger, through the logs' collectors. */
    traces: z
        .strictObject({
            /** @default - true (with logs) */
            enabled: z.boolean().default(true),
            /** @default - the log store's node */
            node,
            retention: retention.default("7d"),
        })
        .prefault({}),
    /** Grafana with the platform's dashboards and data sources, behind the edge (Keycloak login). */
    grafana: z
        .strictObject({
            /** @default - true where the edge is on (lab: false: Grafana is AGPL and does not run on the lab's machine) */
            enabled: z.boolean().optional(),
            /** @default - the log store's node */
            node,
        })
        .prefault({}),
});

export type ObservabilityConfig = z.output<typeof observabilityConfigSchema>;

interface NodeView {
    name: string;
    role: "manager" | "worker";
    labels: Record<string, string>;
    availability?: string;
}

export interface ObservabilityPlacement {
    /** Prometheus' and Alertmanager's manager. */
    control: string | undefined;
    /** The log store's, the trace store's and Grafana's nodes. */
    logs: string | undefined;
    traces: string | undefined;
    grafana: string | undefined;
}

const active = (n: NodeView) => n.availability !== "drain" && n.availability !== "pause";

/** The nodes of each part, with the defaults applied. */
export function resolveObservabilityNodes(o: ObservabilityConfig, nodes: readonly NodeView[]): ObservabilityPlacement {
    const managers = nodes.filter((n) => n.role === "manager");
    const control = o.node ?? managers.find((n) => n.labels[CONTROL_LABEL] === "true")?.name ?? managers.find(active)?.name;
    // Workers first: a default that stays put as managers are added (a store's volume does not move).
    const free = (n: NodeView) => active(n) && n.name !== control && n.labels[CONTROL_LABEL] !== "true";
    const logs =
        o.logs.node ?? nodes.find((n) => n.labels[STORES_LABEL] === "true" && active(n))?.name ?? nodes.find((n) => n.role === "worker" && free(n))?.name ?? nodes.find(free)?.name ?? control;
    return { control, logs, traces: o.traces.node ?? logs, grafana: o.grafana.node ?? logs };
}

/** The log store with its profile default. */
export const logStoreOf = (o: ObservabilityConfig, profile: string): LogStoreKind => o.logs.store ?? (profile === "lab" ? "victorialogs" : "loki");

/** Grafana is deployed: asked for, or by default where the edge is and outside the lab. */
export const grafanaOn = (o: ObservabilityConfig, ctx: { edgeEnabled: boolean; profile: string }) => o.enabled && ctx.profile !== "lab" && (o.grafana.enabled ?? ctx.edgeEnabled);

/** The names in `swarm-etl:images` the slice needs as configured. */
export function observabilityImageNames(o: ObservabilityConfig, ctx: { edgeEnabled: boolean; profile: string }): string[] {
    if (!o.enabled) return [];
    const metrics = Object.entries(OBSERVABILITY_IMAGES)
        .filter(([k]) => k !== "cadvisor" || o.containers)
        .filter(([k]) => k !== "blackbox" || ctx.edgeEnabled)
        .map(([, v]) => v);
    const logs = o.logs.enabled ? [LOGS_IMAGES.collector, LOGS_IMAGES[logStoreOf(o, ctx.profile)]] : [];
    const traces = o.logs.enabled && o.traces.enabled ? [TRACES_IMAGE] : [];
    const grafana = grafanaOn(o, ctx) ? [GRAFANA_IMAGE] : [];
    return [...metrics, ...logs, ...traces, ...grafana];
}

/** Every problem of the slice that needs the rest of the config, as `[path under observability, message]` (`["images", name]` for images). */
export function observabilityStackProblems(
    o: ObservabilityConfig,
    nodes: readonly NodeView[],
    ctx: { images: Record<string, string>; profile: string; edgeEnabled: boolean; identityEnabled: boolean },
): [(string | number)[], string][] {
    if (!o.enabled) return [];
    const out: [(string | number)[], string][] = [];
    const names = nodes.map((n) => n.name);
    const p = resolveObservabilityNodes(o, nodes);
    const byName = new Map(nodes.map((n) => [n.name, n]));
    const controls = nodes.filter((n) => n.labels[CONTROL_LABEL] === "true");
    controls
        .filter((n) => n.role !== "manager")
        .forEach((n) => out.push([["node"], `${n.name} carries ${CONTROL_LABEL}=true but is a worker: the control node reads the swarm's API, which only managers serve; fix: label a manager instead`]));
    if (controls.length > 1) out.push([["node"], `${controls.map((n) => n.name).join(" and ")} both carry ${CONTROL_LABEL}=true; fix: label one manager`]);
    if (p.control === undefined) {
        out.push([["node"], `no manager can run Prometheus (every manager is drained, as prod does by default); fix: label one manager swarm-etl.control: "true" (it stays active and runs only the control services), or set observability.enabled false`]);
    } else if (!names.includes(p.control)) {
        out.push([["node"], `${JSON.stringify(p.control)} is not a node of the stack (nodes: ${names.join(", ")}); fix: name one of the managers`]);
    } else if (byName.get(p.control)!.role !== "manager") {
        out.push([["node"], `${p.control} is a worker: Prometheus reads the swarm through a manager's Docker API; fix: name a manager`]);
    } else if (!active(byName.get(p.control)!)) {
        out.push([["node"], `${p.control} is ${byName.get(p.control)!.availability}, so Prometheus could not run there; fix: label it swarm-etl.control: "true" (prod then keeps it active for the control services only), or choose an active manager`]);
    }
    const storeNode = (path: (string | number)[], n: string | undefined, what: string) => {
        if (n === undefined) out.push([path, `no active node can keep ${what}; fix: label one swarm-etl.observability: "true"`]);
        else if (!names.includes(n)) out.push([path, `${JSON.stringify(n)} is not a node of the stack (nodes: ${names.join(", ")}); fix: name one of them`]);
        else if (!active(byName.get(n)!)) out.push([path, `${n} is ${byName.get(n)!.availability}, so ${what} could not run there; fix: choose an active node`]);
    };
    if (o.logs.enabled) storeNode(["logs", "node"], p.logs, "the log store");
    // The trace store and Grafana go to the log store's node unless their own is set.
    if (o.logs.enabled && o.traces.enabled && o.traces.node !== undefined) storeNode(["traces", "node"], p.traces, "the trace store");
    if (!o.logs.enabled && o.traces.enabled && o.traces.node !== undefined) out.push([["traces", "enabled"], "traces reach Jaeger through the logs' collectors, and logs.enabled is false; fix: enable logs, or set traces.enabled false"]);
    const grafana = grafanaOn(o, { edgeEnabled: ctx.edgeEnabled, profile: ctx.profile });
    if (o.grafana.enabled && ctx.profile === "lab") out.push([["grafana", "enabled"], "Grafana is AGPL and is not run on the lab's machine; fix: leave it unset in the lab (the lab runs every dashboard panel's query against Prometheus instead)"]);
    else if (grafana) {
        if (!ctx.edgeEnabled || !ctx.identityEnabled) out.push([["grafana", "enabled"], "Grafana signs people in through the edge's Keycloak, and the edge (or identity) is off; fix: enable identity and the edge, or set grafana.enabled false"]);
        if (o.grafana.node !== undefined || !o.logs.enabled) storeNode(["grafana", "node"], p.grafana, "Grafana's state");
    }
    if (o.alerting.receivers.length === 0 && ctx.profile !== "lab") {
        out.push([["alerting", "receivers"], `is empty, so alerts would reach nobody; fix: add one, e.g. [{name: ops, webhook: {url: "https://hooks.example.com/alertmanager"}}]`]);
    } else {
        for (const problem of observabilityArgsProblems({ alerting: alertingOf(o) })) out.push([["alerting"], problem]);
    }
    for (const name of observabilityImageNames(o, { edgeEnabled: ctx.edgeEnabled, profile: ctx.profile })) {
        const ref = ctx.images[name];
        const built = !([LOGS_IMAGES.loki, GRAFANA_IMAGE] as string[]).includes(name);
        const how = built
            ? "run `images/build.sh --registry <registry> --via <manager> --stack <stack>` (the lab: `images/build.sh --lab`), which records it"
            : `push it to your registry and set images.${name} to it by digest (AGPL: not built here)`;
        if (!ref) out.push([["images", name], `is not set, and observability is enabled; fix: ${how}`]);
        else if (ctx.profile !== "lab" && !/@sha256:[0-9a-f]{64}$/.test(ref)) out.push([["images", name], `${JSON.stringify(ref)} is not pinned by digest; fix: use <registry>/<repo>@sha256:…`]);
    }
    return out;
}

/** The lab's receiver when none is configured: alerts stay in Alertmanager (its UI behind the edge). */
export const LAB_RECEIVER = "alertmanager-ui";

/** Alertmanager's routing as the component takes it, the receivers' secrets wrapped by `secret` (pulumi.secret in the program). */
export function alertingOf(o: ObservabilityConfig, secret: (v: string) => pulumi.Input<string> = (v) => v): AlertingArgs {
    const receivers: ReceiverArgs[] = o.alerting.receivers.length
        ? o.alerting.receivers.map((r) => ({
              name: r.name,
              webhook: r.webhook,
              email: r.email && { ...r.email, password: r.email.password === undefined ? undefined : secret(r.email.password) },
              chat: r.chat && { channel: r.chat.channel, url: secret(r.chat.url) },
          }))
        : [{ name: LAB_RECEIVER }];
    return { receivers, defaultReceiver: o.alerting.defaultReceiver ?? receivers[0].name, routes: o.alerting.routes };
}

/** Which parts with a UI behind the edge the config deploys (edge.uis may only name those). */
export function uiParts(o: ObservabilityConfig, ctx: { identity: boolean; spark: boolean; edge: boolean; profile: string }) {
    const logs = o.enabled && o.logs.enabled;
    return {
        identity: ctx.identity,
        spark: ctx.spark,
        observability: o.enabled,
        "logs-ui": logs && logStoreOf(o, ctx.profile) === "victorialogs",
        traces: logs && o.traces.enabled,
        grafana: grafanaOn(o, { edgeEnabled: ctx.edge, profile: ctx.profile }),
    };
}
