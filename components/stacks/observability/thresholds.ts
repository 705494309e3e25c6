// The alert thresholds that come from the stack's config, as a rule group of constant series
// (`swarm-etl-thresholds`) that the static rules (rules/platform.rules.yml) compare against: the
// ETL is late when no run succeeded within its schedule's longest gap plus the slack; a backup
// type is missing when none completed within its schedule's longest gap plus the slack. Pure and
// deterministic (the gaps are those of a fixed year), so a preview of unchanged config is silent.
import { CronExpressionParser } from "cron-parser";
import { stringify } from "yaml";

/** The year whose fire times give a schedule's longest gap: fixed, so the rendered rules never drift. */
const FROM = new Date("2026-01-01T00:00:00Z");
const UNTIL = new Date("2027-01-01T00:00:00Z");
/** Enough fire times to see a schedule's pattern (a minutely one stops here, long before the year's end). */
const MAX_FIRES = 5000;

export const THRESHOLDS_GROUP = "swarm-etl-thresholds";

export interface ThresholdInputs {
    /** The ETL's schedule (five-field cron, in timeZone), when it has one. */
    readonly etl?: { readonly cron: string; readonly timeZone?: string };
    /** Each backup type's schedule (UTC), when backups are on: { full: "0 1 * * 0", diff: "0 1 * * 1-6" }. */
    readonly backups?: Readonly<Record<string, string>>;
    /** Time allowed past the longest gap before a run or a backup counts as late (a run's own duration, a retry). */
    readonly slackSeconds: number;
}

/** The longest time between two consecutive fire times of `cron` in `timeZone`, over one fixed year, in seconds. */
export function longestGapSeconds(cron: string, timeZone = "UTC"): number {
    const it = CronExpressionParser.parse(cron, { tz: timeZone, currentDate: FROM, endDate: UNTIL });
    let prev: number | undefined;
    let longest = 0;
    for (let i = 0; i < MAX_FIRES && it.hasNext(); i++) {
        const t = it.next().getTime();
        if (prev !== undefined) longest = Math.max(longest, t - prev);
        prev = t;
    }
    if (!longest) throw new Error(`schedule ${JSON.stringify(cron)} fires at most once in a year; fix: a schedule that repeats, e.g. "0 3 * * *"`);
    return Math.round(longest / 1000);
}

interface RecordingRule {
    record: string;
    expr: string;
    labels?: Record<string, string>;
}

/** The rule group: one constant series per threshold the config defines (none: no such alert). */
export function thresholdRules(i: ThresholdInputs): { groups: { name: string; rules: RecordingRule[] }[] } {
    const rules: RecordingRule[] = [];
    if (i.etl) rules.push({ record: "threshold:etl_late_after:seconds", expr: `vector(${longestGapSeconds(i.etl.cron, i.etl.timeZone) + i.slackSeconds})` });
    for (const [type, cron] of Object.entries(i.backups ?? {}).sort(([a], [b]) => a.localeCompare(b))) {
        rules.push({ record: "threshold:backup_late_after:seconds", expr: `vector(${longestGapSeconds(cron) + i.slackSeconds})`, labels: { type } });
    }
    return { groups: [{ name: THRESHOLDS_GROUP, rules }] };
}

/** The rule file Prometheus loads beside the static rules. */
export const renderThresholds = (i: ThresholdInputs): string => stringify(thresholdRules(i));
