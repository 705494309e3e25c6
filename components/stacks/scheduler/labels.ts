// The scheduler's labels and names: what makes a service a scheduled template (pure; the config
// schema and the components read them).
export const SCHEDULE_LABEL = "swarm-etl.schedule";
export const KEEP_LABEL = "swarm-etl.schedule.keep";
/** The scheduler's image, by its name in `swarm-etl:images`. */
export const SCHEDULER_IMAGE = "scheduler";

/** Labels that make a 0-replica service a template run on `schedule` (five-field cron, UTC). */
export const scheduledJobLabels = (schedule: string, keep = 3): Record<string, string> => ({ [SCHEDULE_LABEL]: schedule, [KEEP_LABEL]: String(keep), "swarm-etl.role": "job-template" });
