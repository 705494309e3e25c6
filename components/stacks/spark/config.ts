// The `swarm-etl:spark` slice of the stack config (zod), with its defaults, and the problems that
// need the rest of the config (nodes, labels, images), reported by the stack schema under their keys.
import { z } from "zod";

/** The image the Spark daemons and the ETL job share, by its name in `swarm-etl:images`. */
export const SPARK_IMAGE = "spark";
/** The master's node carries `swarm-etl.spark=master` unless spark.master.node names one. */
export const MASTER_LABEL = "swarm-etl.spark=master";
export const DEFAULT_WORKER_LABEL = "swarm-etl.spark=worker";
/** The Spark daemons' own heap (master, worker daemon, history server). */
export const DAEMON_MEMORY = "512m";

/** A JVM size as Spark writes it: 512m, 2g. */
export const SPARK_MEMORY_RE = /^[1-9]\d*[mg]$/;
export const sparkMemoryBytes = (v: string) => Number(v.slice(0, -1)) * (v.endsWith("g") ? 1024 ** 3 : 1024 ** 2);
const memory = z.string().regex(SPARK_MEMORY_RE, { message: "is not a JVM size; fix: a whole number of megabytes or gigabytes, e.g. 512m or 2g" });

export const sparkConfigSchema = z.strictObject({
    /** Deploy the Spark standalone cluster. @default - true */
    enabled: z.boolean().default(true),
    master: z
        .strictObject({
            /** The master's node (its recovery volume and the event logs live there; the ETL job's driver and the history server run there). @default - the node labelled swarm-etl.spark=master, else the first active node without a worker */
            node: z.string().min(1).optional(),
        })
        .default({}),
    workers: z
        .strictObject({
            /** The node label (key=value) of the nodes that run workers, one worker per node. @default - swarm-etl.spark=worker */
            label: z.string().default(DEFAULT_WORKER_LABEL),
            /** Workers to run. @default - one per labelled node */
            replicas: z.number().int().min(0).max(100).optional(),
            /** Cores each worker offers to executors. @default - 1 */
            cores: z.number().int().min(1).max(256).default(1),
            /** Memory each worker offers to executors. @default - 2g */
            memory: memory.default("2g"),
        })
        .default({ label: DEFAULT_WORKER_LABEL, cores: 1, memory: "2g" }),
    /** Each executor's heap (at most a worker's memory). @default - 1g */
    executorMemory: memory.default("1g"),
    /** The history server over the jobs' event logs. @default - true */
    history: z.boolean().default(true),
});

export type SparkConfig = z.output<typeof sparkConfigSchema>;

interface NodeView {
    name: string;
    labels: Record<string, string>;
    availability?: string;
}

/** `key=value` → [key, value] (undefined when it is not one). */
export function parseLabel(label: string): [string, string] | undefined {
    const m = /^([A-Za-z0-9][A-Za-z0-9._-]*)=([A-Za-z0-9._-]+)$/.exec(label);
    return m ? [m[1], m[2]] : undefined;
}

export interface SparkPlacement {
    master: string | undefined;
    workers: string[];
    replicas: number;
}

/** The master's node and the workers' nodes with the defaults applied. */
export function resolveSparkNodes(spark: SparkConfig, nodes: readonly NodeView[]): SparkPlacement {
    const has = (n: NodeView, label: string) => {
        const kv = parseLabel(label);
        return !!kv && n.labels[kv[0]] === kv[1] && n.availability !== "drain";
    };
    const workers = nodes.filter((n) => has(n, spark.workers.label)).map((n) => n.name);
    // Unlabelled: the first active node (managers first) without a worker, else the first worker's.
    const master = spark.master.node ?? nodes.find((n) => has(n, MASTER_LABEL))?.name ?? nodes.find((n) => n.availability !== "drain" && !workers.includes(n.name))?.name ?? workers[0];
    return { master, workers, replicas: spark.workers.replicas ?? workers.length };
}

/** Every problem of the slice that needs the rest of the config, as `[path under spark, message]`. */
export function sparkStackProblems(spark: SparkConfig, nodes: readonly NodeView[], images: Record<string, string>, profile: string): [(string | number)[], string][] {
    if (!spark.enabled) return [];
    const out: [(string | number)[], string][] = [];
    const names = nodes.map((n) => n.name);
    const p = resolveSparkNodes(spark, nodes);
    const kv = parseLabel(spark.workers.label);
    if (!kv) out.push([["workers", "label"], `${JSON.stringify(spark.workers.label)} is not a node label as key=value; fix: e.g. ${DEFAULT_WORKER_LABEL}`]);
    else if (p.workers.length === 0) {
        out.push([["workers", "label"], `no active node carries the label ${spark.workers.label} (nodes: ${names.join(", ")}); fix: add labels: {${kv[0]}: "${kv[1]}"} to the nodes that should run Spark workers, or set spark.workers.label to a label they have`]);
    } else if (p.replicas > p.workers.length) {
        out.push([["workers", "replicas"], `${p.replicas} workers need ${p.replicas} nodes labelled ${spark.workers.label} (one worker per node), but ${p.workers.length} are (${p.workers.join(", ")}); fix: label more nodes, or lower spark.workers.replicas`]);
    }
    if (p.master === undefined) {
        out.push([["master", "node"], `no active node can run the master; fix: add labels: {swarm-etl.spark: "master"} to one node, or set spark.master.node`]);
    } else if (!names.includes(p.master)) {
        out.push([["master", "node"], `${JSON.stringify(p.master)} is not a node of the stack (nodes: ${names.join(", ")}); fix: name one of them`]);
    } else if (nodes.find((n) => n.name === p.master)!.availability === "drain") {
        out.push([["master", "node"], `${p.master} is drained, so the master could not run there; fix: choose an active node`]);
    }
    if (sparkMemoryBytes(spark.executorMemory) > sparkMemoryBytes(spark.workers.memory)) {
        out.push([["executorMemory"], `${spark.executorMemory} is more than a worker offers (spark.workers.memory ${spark.workers.memory}), so no executor could start; fix: lower spark.executorMemory or raise spark.workers.memory`]);
    }
    const ref = images[SPARK_IMAGE];
    if (!ref) out.push([["images", SPARK_IMAGE], `is not set, and spark is enabled; fix: run \`images/build.sh --registry <registry> --via <manager> --stack <stack>\` (the lab: \`images/build.sh --lab\`), which records it`]);
    else if (profile !== "lab" && !/@sha256:[0-9a-f]{64}$/.test(ref)) out.push([["images", SPARK_IMAGE], `${JSON.stringify(ref)} is not pinned by digest; fix: use the reference images/build.sh recorded (<registry>/<repo>@sha256:…)`]);
    return out;
}
