// The scheduler's labels and names: what makes a service a scheduled template (pure; the config
// schema and the components read them), and the checks of a schedule.
import { CronExpressionParser } from "cron-parser";

export const SCHEDULE_LABEL = "swarm-etl.schedule";
export const KEEP_LABEL = "swarm-etl.schedule.keep";
/** The IANA time zone the schedule is read in (absent: UTC). */
export const TZ_LABEL = "swarm-etl.schedule.tz";
/** The scheduler's image, by its name in `swarm-etl:images`. */
export const SCHEDULER_IMAGE = "scheduler";

/** Labels that make a 0-replica service a template run on `schedule` (five-field cron, in `timeZone`, default UTC). */
export const scheduledJobLabels = (schedule: string, keep = 3, timeZone?: string): Record<string, string> => ({
    [SCHEDULE_LABEL]: schedule,
    [KEEP_LABEL]: String(keep),
    ...(timeZone && timeZone !== "UTC" ? { [TZ_LABEL]: timeZone } : {}),
    "swarm-etl.role": "job-template",
});

/** A time zone's problem (not an IANA name this runtime knows), or undefined. */
export function timeZoneProblem(tz: unknown): string | undefined {
    try {
        if (typeof tz === "string" && tz.length > 0) {
            new Intl.DateTimeFormat("en-US", { timeZone: tz });
            return undefined;
        }
    } catch {
        // falls through
    }
    return `${JSON.stringify(tz)} is not an IANA time zone; fix: e.g. "UTC", "Europe/Berlin" or "America/New_York"`;
}

/**
 * A five-field cron expression's problem in `tz`, or undefined. `fields` follows the field list in
 * the message (e.g. ", UTC" where the zone is fixed); `example` is the fix's example.
 */
export function scheduleProblem(expr: unknown, tz = "UTC", o: { fields?: string; example?: string } = {}): string | undefined {
    const ex = `fix: e.g. ${o.example ?? '"0 3 * * *" (every day at 03:00)'}`;
    if (typeof expr !== "string" || expr.trim().split(/\s+/).length !== 5) {
        return `${JSON.stringify(expr)} is not a cron expression of five fields (minute hour day-of-month month day-of-week${o.fields ?? ""}); ${ex}`;
    }
    try {
        CronExpressionParser.parse(expr, { tz });
        return undefined;
    } catch (err) {
        return `${JSON.stringify(expr)} is not a cron expression: ${(err as Error).message}; ${ex}`;
    }
}
