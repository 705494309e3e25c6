// The platform's alerting rules under Prometheus' own tool: `promtool check rules` on the static
// rules and on the thresholds rendered from config, `promtool test rules` on every test file of
// components/stacks/observability/rules/tests/ — each alert fires in one case and stays silent in
// another — and a broken threshold is caught by the tests (they can fail).
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse } from "yaml";
import { DEFAULT_SCHEDULES } from "../../components/stacks/postgres/backup";
import { longestGapSeconds, renderThresholds, thresholdRules } from "../../components/stacks/observability/thresholds";
import { promtool } from "./promtool";

const RULES = path.join(__dirname, "../../components/stacks/observability/rules");
const TESTS = path.join(RULES, "tests");
const testFiles = fs.readdirSync(TESTS).filter((f) => f.endsWith(".test.yml")).sort();

interface AlertCase { alertname: string; exp_alerts?: unknown[] }
interface TestFile { tests: { alert_rule_test?: AlertCase[] }[] }

describe("alerting rules", () => {
    test("promtool is installed", () => {
        expect(execFileSync("promtool", ["--version"], { encoding: "utf8" })).toMatch(/^promtool, version 2\./);
    });

    test("the static rules pass promtool check rules", () => {
        const r = promtool(["check", "rules", path.join(RULES, "platform.rules.yml")], TESTS);
        expect(r.out).toContain("SUCCESS");
        expect(r.status).toBe(0);
    });

    test.each(testFiles)("promtool test rules %s", (f) => {
        const r = promtool(["test", "rules", f], TESTS);
        expect(r.out).toContain("SUCCESS");
        expect(r.status).toBe(0);
    });

    test("every alert has a firing case and a silent case", () => {
        const rules = parse(fs.readFileSync(path.join(RULES, "platform.rules.yml"), "utf8")) as { groups: { rules: { alert?: string }[] }[] };
        const alerts = rules.groups.flatMap((g) => g.rules.map((r) => r.alert)).filter((a): a is string => !!a);
        expect(alerts.length).toBeGreaterThanOrEqual(20);
        const cases = testFiles.flatMap((f) => (parse(fs.readFileSync(path.join(TESTS, f), "utf8")) as TestFile).tests.flatMap((t) => t.alert_rule_test ?? []));
        const missing = alerts.flatMap((a) => [
            ...(cases.some((c) => c.alertname === a && (c.exp_alerts ?? []).length > 0) ? [] : [`${a}: no case where it fires`]),
            ...(cases.some((c) => c.alertname === a && (c.exp_alerts ?? []).length === 0) ? [] : [`${a}: no case where it stays silent`]),
        ]);
        expect(missing).toEqual([]);
    });

    test("a broken threshold is caught: memory pressure at 1 % instead of 10 % fails its test", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rules-"));
        fs.mkdirSync(path.join(dir, "tests"));
        const broken = fs.readFileSync(path.join(RULES, "platform.rules.yml"), "utf8").replace("node_memory_MemTotal_bytes < 0.10", "node_memory_MemTotal_bytes < 0.01");
        expect(broken).toContain("< 0.01");
        fs.writeFileSync(path.join(dir, "platform.rules.yml"), broken);
        fs.copyFileSync(path.join(TESTS, "nodes.test.yml"), path.join(dir, "tests", "nodes.test.yml"));
        const r = promtool(["test", "rules", "nodes.test.yml"], path.join(dir, "tests"));
        expect(r.status).not.toBe(0);
        expect(r.out).toContain("alertname: NodeMemoryPressure");
        fs.rmSync(dir, { recursive: true });
    });
});

describe("thresholds from the config", () => {
    test("a schedule's longest gap: daily, the default backups, weekdays only, and across a DST change", () => {
        expect(longestGapSeconds("30 2 * * *")).toBe(86400);
        expect(longestGapSeconds(DEFAULT_SCHEDULES.full)).toBe(7 * 86400);
        expect(longestGapSeconds(DEFAULT_SCHEDULES.diff)).toBe(2 * 86400); // Saturday to Monday (Sunday is the full one's)
        expect(longestGapSeconds("0 6 * * 1-5")).toBe(3 * 86400);
        expect(longestGapSeconds("*/5 * * * *")).toBe(300);
        // 02:30 local does not exist on the spring-forward day in Berlin; the gap around it is longer than a day
        expect(longestGapSeconds("30 2 * * *", "Europe/Berlin")).toBeGreaterThan(86400);
    });

    test("a schedule that does not repeat is a clear error", () => {
        expect(() => longestGapSeconds("0 0 1 1 *")).toThrow('schedule "0 0 1 1 *" fires at most once in a year; fix: a schedule that repeats');
    });

    test("the rendered group: one series per threshold, the gap plus the slack, and promtool accepts it", () => {
        const inputs = { etl: { cron: "30 2 * * *", timeZone: "UTC" }, backups: { ...DEFAULT_SCHEDULES }, slackSeconds: 7200 };
        expect(thresholdRules(inputs).groups[0].rules).toEqual([
            { record: "threshold:etl_late_after:seconds", expr: "vector(93600)" },
            { record: "threshold:backup_late_after:seconds", expr: "vector(180000)", labels: { type: "diff" } },
            { record: "threshold:backup_late_after:seconds", expr: "vector(612000)", labels: { type: "full" } },
        ]);
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "thresholds-"));
        for (const [name, i] of [["all.yml", inputs], ["none.yml", { slackSeconds: 7200 }]] as const) {
            fs.writeFileSync(path.join(dir, name), renderThresholds(i));
            const r = promtool(["check", "rules", path.join(dir, name)], TESTS);
            expect(r.out).toContain("SUCCESS");
            expect(r.status).toBe(0);
        }
        expect(renderThresholds(inputs)).toBe(renderThresholds(inputs));
        fs.rmSync(dir, { recursive: true });
    });
});
