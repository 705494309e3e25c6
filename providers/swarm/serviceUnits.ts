// Units of the Service inputs: durations (Go syntax, as the docker CLI takes them, or seconds)
// and byte sizes ("64M", "1GiB", or a number of bytes), each with one canonical form so that
// "90s" and "1m30s" compare equal and what the daemon returns reads back as what was asked for.

/** A duration: Go syntax ("10s", "1m30s", "500ms") or a number of seconds. */
export type Duration = string | number;
/** A size in bytes: a number, or a number with a unit ("64M", "64MiB", "1g"; binary multiples, as the docker CLI reads them). */
export type ByteSize = string | number;

/** The engine's placeholder for a value not known until apply (preview of a resource that depends on another). */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

const UNIT_NS: Record<string, number> = { ns: 1, us: 1e3, "µs": 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** Nanoseconds of a duration; throws naming the value and the accepted syntax. */
export function durationNs(d: Duration): number {
    if (typeof d === "number") {
        if (!Number.isFinite(d) || d < 0) throw new Error(`duration ${d} is not a number of seconds ≥ 0`);
        return Math.round(d * 1e9);
    }
    const s = d.trim();
    if (s === "0") return 0;
    const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/g;
    let total = 0;
    let consumed = 0;
    for (let m = re.exec(s); m; m = re.exec(s)) {
        if (m.index !== consumed) break;
        total += parseFloat(m[1]) * UNIT_NS[m[2]];
        consumed = m.index + m[0].length;
    }
    if (consumed === 0 || consumed !== s.length) {
        throw new Error(`duration "${d}" is not valid: use Go syntax such as "10s", "1m30s", "500ms", or a number of seconds`);
    }
    return Math.round(total);
}

/** The canonical text of a duration, in Go's format ("1m30s", "500ms", "0s"). */
export function formatDuration(ns: number): string {
    if (ns === 0) return "0s";
    if (ns < 1e3) return `${ns}ns`;
    if (ns < 1e6) return `${trim(ns / 1e3)}µs`;
    if (ns < 1e9) return `${trim(ns / 1e6)}ms`;
    const h = Math.floor(ns / 3600e9);
    const m = Math.floor((ns % 3600e9) / 60e9);
    const s = (ns % 60e9) / 1e9;
    return `${h ? `${h}h` : ""}${h || m ? `${m}m` : ""}${trim(s)}s`;
}

function trim(x: number): string {
    return String(Number(x.toFixed(9)));
}

/** A duration in canonical form; the unknown placeholder passes through. */
export function normalizeDuration(d: Duration | undefined): string | undefined {
    if (d === undefined || d === null) return undefined;
    if (d === UNKNOWN) return d;
    return formatDuration(durationNs(d));
}

const BYTE_UNITS: Record<string, number> = { "": 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** Bytes of a size; throws naming the value and the accepted syntax. */
export function byteSize(v: ByteSize): number {
    if (typeof v === "number") {
        if (!Number.isInteger(v) || v < 0) throw new Error(`size ${v} is not a whole number of bytes ≥ 0`);
        return v;
    }
    const m = /^\s*(\d+(?:\.\d+)?)\s*([bkmgt]?)(?:i?b)?\s*$/i.exec(v);
    if (!m) throw new Error(`size "${v}" is not valid: use a number of bytes or a number with a unit such as "64M", "512MiB", "1g"`);
    return Math.round(parseFloat(m[1]) * BYTE_UNITS[m[2].toLowerCase()]);
}

export function normalizeBytes(v: ByteSize | undefined): number | undefined {
    if (v === undefined || v === null) return undefined;
    if (v === UNKNOWN) return v as unknown as number;
    return byteSize(v);
}
