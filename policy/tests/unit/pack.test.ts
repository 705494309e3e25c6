// The pack as a whole: names, descriptions, the per-stack config files, and the messages.
import * as fs from "fs";
import * as path from "path";
import type { EnforcementLevel, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { fixedProfile } from "../../lib/profile";
import { TYPES } from "../../lib/types";
import { policies, RULES } from "../../rules";
import { cluster, network, service, swarmInit } from "./fixtures";
import { checkResource, checkStack } from "./harness";

const CONFIG_DIR = path.join(__dirname, "../../config");
const LEVELS: EnforcementLevel[] = ["advisory", "mandatory", "remediate", "disabled"];
const names = policies().map((p) => p.name);

describe("the pack", () => {
    test("has 18 rules with unique names, each with a description and one file under rules/", () => {
        expect(names).toHaveLength(18);
        expect(new Set(names).size).toBe(names.length);
        for (const p of policies()) expect(p.description.length).toBeGreaterThan(20);
        const files = fs.readdirSync(path.join(__dirname, "../../rules")).filter((f) => f !== "index.ts");
        expect(files).toHaveLength(names.length);
    });

    test("each factory takes its enforcement level", () => {
        for (const r of RULES) expect(r.factory("advisory").enforcementLevel).toBe("advisory");
    });

    test.each(["lab", "dev", "prod"])("config/%s.json sets a valid level for every rule and names no other", (stack) => {
        const cfg = JSON.parse(fs.readFileSync(path.join(CONFIG_DIR, `${stack}.json`), "utf8")) as Record<string, string>;
        expect(Object.keys(cfg).sort()).toEqual([...names].sort());
        for (const level of Object.values(cfg)) expect(LEVELS).toContain(level);
    });

    test("prod makes every rule mandatory; the lab only relaxes what its kernel or size cannot do", () => {
        const prod = JSON.parse(fs.readFileSync(path.join(CONFIG_DIR, "prod.json"), "utf8")) as Record<string, string>;
        expect(new Set(Object.values(prod))).toEqual(new Set(["mandatory"]));
        const lab = JSON.parse(fs.readFileSync(path.join(CONFIG_DIR, "lab.json"), "utf8")) as Record<string, string>;
        for (const security of ["ssh-host-key-pinned", "no-published-database-ports", "ui-behind-auth-proxy", "no-secrets-in-env", "image-pinned"]) {
            expect([security, lab[security]]).toEqual([security, "mandatory"]);
        }
    });

    test("every violation message says why (a colon after what is wrong) and how to fix it (Fix:)", async () => {
        const bad = service({
            image: "reg/obs/grafana",
            replicas: 1,
            env: { ADMIN_PASSWORD: "x" },
            ports: [{ target: 5432, published: 5432 }],
            labels: { "swarm-etl.ui": "true", "swarm-etl.stateful": "true" },
            healthcheck: undefined,
            resources: undefined,
            restartPolicy: undefined,
            connection: { name: "m", host: "10.0.0.1", port: 22, user: "u", hostKey: "" },
        });
        const messages: string[] = [];
        for (const r of RULES) {
            const p = r.factory("mandatory", fixedProfile("prod"));
            if ("validateStack" in p) {
                const res = cluster({ managers: ["mgr1", "mgr2"], availability: { mgr1: "active" } });
                messages.push(...(await checkStack(p as StackValidationPolicy, res)).violations.map((v) => v.message));
            } else {
                const rp = p as ResourceValidationPolicy;
                for (const [type, props] of [[TYPES.service, bad], [TYPES.network, network({ encrypted: false })], [TYPES.swarmInit, swarmInit({ autolock: false })]] as const) {
                    messages.push(...(await checkResource(rp, type, props)).violations.map((v) => v.message));
                }
            }
        }
        expect(messages.length).toBeGreaterThanOrEqual(15);
        for (const m of messages) {
            expect(m).toMatch(/^[^:]+.*: .+Fix: /s);
        }
    });
});
