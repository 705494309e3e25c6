// The PostgreSQL parameters (GUCs) a stack may set: an allow-list with each one's type, so a typo
// or a value of the wrong kind is refused before anything changes. Parameters Patroni owns
// (listen_addresses, port, wal_level, hot_standby, max_wal_senders, …) are not on the list.

export type ParameterValue = string | number | boolean;

interface ParamType {
    /** What the value must look like, for messages ("a size such as 256MB"). */
    readonly expect: string;
    readonly ok: (v: ParameterValue) => boolean;
}

const SIZE_RE = /^\d+\s*(B|kB|MB|GB|TB)?$/;
const DURATION_RE = /^-?\d+\s*(us|ms|s|min|h|d)?$/;
const isInt = (v: ParameterValue, min: number, max: number) => typeof v === "number" && Number.isInteger(v) && v >= min && v <= max;

const size: ParamType = { expect: "a size such as 256MB (B, kB, MB, GB, TB) or a number of the parameter's unit", ok: (v) => (typeof v === "number" && Number.isInteger(v) && v >= 0) || (typeof v === "string" && SIZE_RE.test(v)) };
const duration: ParamType = { expect: "a duration such as 30s (us, ms, s, min, h, d) or a number of the parameter's unit", ok: (v) => (typeof v === "number" && Number.isInteger(v) && v >= -1) || (typeof v === "string" && DURATION_RE.test(v)) };
const bool: ParamType = { expect: "true or false", ok: (v) => typeof v === "boolean" || v === "on" || v === "off" };
const int = (min: number, max: number): ParamType => ({ expect: `a whole number from ${min} to ${max}`, ok: (v) => isInt(v, min, max) });
const real = (min: number, max: number): ParamType => ({ expect: `a number from ${min} to ${max}`, ok: (v) => typeof v === "number" && v >= min && v <= max });
const oneOf = (...values: string[]): ParamType => ({ expect: `one of ${values.join(", ")}`, ok: (v) => typeof v === "string" && values.includes(v) });
const text: ParamType = { expect: "a single-line string", ok: (v) => typeof v === "string" && v.length > 0 && !/[\n\r']/.test(v) };

/** Every parameter a stack may set, with its type. */
export const PARAMETERS: Readonly<Record<string, ParamType>> = {
    max_connections: int(10, 10000),
    shared_buffers: size,
    work_mem: size,
    maintenance_work_mem: size,
    effective_cache_size: size,
    temp_buffers: size,
    huge_pages: oneOf("try", "on", "off"),
    max_wal_size: size,
    min_wal_size: size,
    wal_keep_size: size,
    wal_compression: bool,
    checkpoint_timeout: duration,
    checkpoint_completion_target: real(0, 1),
    archive_timeout: duration,
    synchronous_commit: oneOf("on", "remote_apply", "remote_write", "local", "off"),
    random_page_cost: real(0, 1000),
    seq_page_cost: real(0, 1000),
    effective_io_concurrency: int(0, 1000),
    max_worker_processes: int(1, 256),
    max_parallel_workers: int(0, 256),
    max_parallel_workers_per_gather: int(0, 256),
    default_statistics_target: int(1, 10000),
    jit: bool,
    statement_timeout: duration,
    lock_timeout: duration,
    idle_in_transaction_session_timeout: duration,
    log_min_duration_statement: duration,
    log_connections: bool,
    log_disconnections: bool,
    log_lock_waits: bool,
    log_temp_files: int(-1, 2147483647),
    log_checkpoints: bool,
    log_statement: oneOf("none", "ddl", "mod", "all"),
    track_io_timing: bool,
    timezone: text,
    "auto_explain.log_min_duration": duration,
};

const SIZE_UNITS: Record<string, number> = { B: 1, kB: 1024, MB: 1024 ** 2, GB: 1024 ** 3, TB: 1024 ** 4 };

/**
 * A size parameter's value in bytes, as PostgreSQL reads it: a bare number counts the parameter's
 * own unit (`unitBytes`: 8192 for shared_buffers' pages). Undefined when it is not a size.
 */
export function parameterBytes(value: ParameterValue, unitBytes: number): number | undefined {
    if (typeof value === "number") return Number.isInteger(value) && value >= 0 ? value * unitBytes : undefined;
    if (typeof value !== "string") return undefined;
    const m = /^(\d+)\s*(B|kB|MB|GB|TB)?$/.exec(value);
    return m ? Number(m[1]) * (m[2] ? SIZE_UNITS[m[2]] : unitBytes) : undefined;
}

/** The problem with one parameter, or undefined when it is allowed and well typed. */
export function parameterProblem(name: string, value: unknown): string | undefined {
    const type = PARAMETERS[name];
    if (!type) {
        const near = Object.keys(PARAMETERS).filter((k) => k.includes(name) || name.includes(k) || k.split("_")[0] === name.split("_")[0]);
        return `${name} is not a parameter a stack may set${near.length ? ` (did you mean ${near.slice(0, 3).join(", ")}?)` : ""}; fix: use one of the parameters listed in docs/postgres.md (Patroni owns replication and connection settings)`;
    }
    if ((typeof value !== "string" && typeof value !== "number" && typeof value !== "boolean") || !type.ok(value)) {
        return `${name}: ${JSON.stringify(value)} is not ${type.expect}; fix: write ${type.expect}`;
    }
    return undefined;
}
