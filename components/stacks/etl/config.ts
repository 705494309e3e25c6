// The `swarm-etl:etl` slice of the stack config (zod): the flights ETL job on the Spark cluster,
// when `pulumi up` runs it and its schedule. Problems that need the rest of the config are
// reported by the stack schema under their keys.
import { z } from "zod";
import { SPARK_MEMORY_RE } from "../spark/config";
import { scheduleProblem, timeZoneProblem } from "../scheduler/labels";

/** The ETL's metrics gateway image, by its name in `swarm-etl:images`. */
export const PUSHGATEWAY_IMAGE = "etl-pushgateway";
export const DEFAULT_ETL = { enabled: true, database: "warehouse", role: "etl_writer", schema: "flights", driverMemory: "1g", keepRuns: 3 } as const;

export const etlConfigSchema = z.strictObject({
    /** Deploy the ETL job (needs spark and postgres). @default - true */
    enabled: z.boolean().default(true),
    /** Change it to run the job at the next `pulumi up` (a spec change runs it too). @default - none */
    runId: z.string().min(1).max(63).optional(),
    /** Run it on the swarm on a schedule (the scheduler service). @default - none */
    schedule: z
        .strictObject({
            /** Five fields: minute hour day-of-month month day-of-week. */
            cron: z.string(),
            /** IANA zone the cron expression is read in. @default - UTC */
            timeZone: z.string().default("UTC"),
        })
        .optional(),
    /** The warehouse database and the login role the job writes with (least privilege: write on its schema). */
    database: z.string().default(DEFAULT_ETL.database),
    role: z.string().default(DEFAULT_ETL.role),
    /** The warehouse's schema. @default - flights */
    schema: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, { message: "is not a schema name; fix: lower-case letters, digits and _" }).default(DEFAULT_ETL.schema),
    /** The driver's heap (the executors load the warehouse: the data size does not need it to grow). @default - 1g */
    driverMemory: z.string().regex(SPARK_MEMORY_RE, { message: "is not a JVM size; fix: e.g. 1g or 1536m" }).default(DEFAULT_ETL.driverMemory),
    /** Finished scheduled runs kept, with their logs. @default - 3 */
    keepRuns: z.number().int().min(1).max(50).default(DEFAULT_ETL.keepRuns),
    /** Data-quality thresholds: a run above one fails its checks, keeps the previous snapshot and raises EtlDataQualityFailed. */
    dq: z
        .strictObject({
            /** Largest share of a source's rows the run may quarantine. @default - 0.01 */
            maxQuarantineRate: z.number().min(0).max(1).optional(),
            /** Largest share of facts whose dimension key may be the unknown member. @default - 0.25 */
            maxUnknownRate: z.number().min(0).max(1).optional(),
        })
        .optional(),
});

export type EtlConfig = z.output<typeof etlConfigSchema>;

interface PostgresView {
    enabled: boolean;
    databases: readonly { name: string }[];
    roles: readonly { name: string; grants: readonly { database: string; privileges: string; schemas?: readonly string[] }[] }[];
}

/** Every problem of the slice that needs the rest of the config, as `[path under etl, message]`. */
export function etlStackProblems(etl: EtlConfig, sparkEnabled: boolean, pg: PostgresView, images: Record<string, string> = {}, profile = "lab"): [(string | number)[], string][] {
    if (!etl.enabled) return [];
    const out: [(string | number)[], string][] = [];
    if (!sparkEnabled) out.push([["enabled"], "the ETL job runs on the Spark cluster, but spark.enabled is false; fix: enable spark, or set etl.enabled false"]);
    if (!pg.enabled) out.push([["enabled"], "the ETL job loads the warehouse on PostgreSQL, but postgres.enabled is false; fix: enable postgres, or set etl.enabled false"]);
    if (pg.enabled) {
        const hasDb = pg.databases.some((d) => d.name === etl.database);
        if (!hasDb) out.push([["database"], `${JSON.stringify(etl.database)} is not a database of postgres.databases (${pg.databases.map((d) => d.name).join(", ")}); fix: name one, or add it`]);
        const role = pg.roles.find((r) => r.name === etl.role);
        if (!hasDb) {
            // its grants are checked once the database is right
        } else if (!role) out.push([["role"], `${JSON.stringify(etl.role)} is not a role of postgres.roles; fix: add it with grants: [{database: ${etl.database}, privileges: write, schemas: [${etl.schema}]}]`]);
        else if (!role.grants.some((g) => g.database === etl.database && g.privileges === "write" && (g.schemas ?? ["public"]).includes(etl.schema)))
            out.push([["role"], `${etl.role} has no write grant on ${etl.database}'s schema ${etl.schema}; fix: give it grants: [{database: ${etl.database}, privileges: write, schemas: [${etl.schema}]}] in postgres.roles`]);
    }
    const ref = images[PUSHGATEWAY_IMAGE];
    if (!ref) out.push([["images", PUSHGATEWAY_IMAGE], `is not set, and etl is enabled; fix: run \`images/build.sh --registry <registry> --via <manager> --stack <stack>\` (the lab: \`images/build.sh --lab\`), which records it`]);
    else if (profile !== "lab" && !/@sha256:[0-9a-f]{64}$/.test(ref)) out.push([["images", PUSHGATEWAY_IMAGE], `${JSON.stringify(ref)} is not pinned by digest; fix: use the reference images/build.sh recorded (<registry>/<repo>@sha256:…)`]);
    if (etl.schedule) {
        const tz = timeZoneProblem(etl.schedule.timeZone);
        if (tz) out.push([["schedule", "timeZone"], tz]);
        const why = scheduleProblem(etl.schedule.cron, tz ? "UTC" : etl.schedule.timeZone);
        if (why) out.push([["schedule", "cron"], why]);
    }
    return out;
}
