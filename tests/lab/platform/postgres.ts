// The data tier's checks and drills, against the platform tests/lab/platform.test.ts deployed
// (tests/lab/platform/suite.ts): the checks leave it as they found it; the drills break it and
// wait until it is whole again.
import * as fs from "fs";
import * as path from "path";
import { log, requiredEnv } from "../harness";
import { REPO } from "../labConfig";
import { labShell } from "../labShell";
import { until } from "../nodeShell";
import {
    CLIENT, CLIENT_SECRETS, checksums, cluster, ETL, figures, healthy, image, leaderNode, MEMBERS, member, missingAcked, NAME, platform,
    psql, repoExec, REPO_NAME, RESTORED, SCHEDULER, schedulerRun, sh, SPARK, stack, window, writer,
} from "./suite";

/** Checks: Patroni members on the workers, etcd on the managers, one router, backups, restore, drift. */
export function postgresChecks(): void {
    describe("PostgresCluster on the lab: Patroni members on the workers, etcd on the managers, one router", () => {
        test("the deploy made a primary and a synchronous standby, each pinned to its worker with its own volume", async () => {
            expect((await stack().outputs()).primaryEndpoint.value).toBe("pgt-router:5432");
            const { leader } = await healthy(60_000);
            expect(MEMBERS).toContain(leader);
            const other = MEMBERS.find((m) => m !== leader)!;
            expect((await cluster())[member(other)].role).toBe("sync_standby");
            // Each member runs on its own node, with its volume there.
            for (const m of MEMBERS) {
                expect(await sh(`docker service ps ${NAME}-${m} --filter desired-state=running --format '{{.Node}}'`)).toBe(m);
                expect(await sh(`docker volume ls -q -f name=${NAME}-${m}-data`, m)).toBe(`${NAME}-${m}-data`);
            }
            for (const m of ["mgr1", "mgr2", "mgr3"]) expect(await sh(`docker service ps ${NAME}-etcd-${m} --filter desired-state=running --format '{{.Node}}'`)).toBe(m);
            // Every image is pinned by digest.
            const images = (await sh(`docker service ls --filter label=swarm-etl.stack=${NAME} --format '{{.Image}}'`)).split("\n");
            expect(images.length).toBe(3 + 2 + 2 + 1 + 2); // etcd, members, router, reconcile, the first backup, the backup templates
            for (const i of images) expect(i).toMatch(/@sha256:[0-9a-f]{64}$/);
        });

        test("writes through the router reach the primary; the replicas' endpoint (:5433) serves them from a standby", async () => {
            await psql("CREATE TABLE IF NOT EXISTS drill (run text NOT NULL, i int NOT NULL, at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (run, i))", { user: "etl_writer" });
            await psql("INSERT INTO drill (run, i) SELECT 'basic', g FROM generate_series(1, 100) g", { user: "etl_writer" });
            expect(await psql("SELECT pg_is_in_recovery()", { user: "etl_writer" })).toBe("f");
            expect(await psql("SELECT pg_is_in_recovery()", { user: "analyst", port: 5433 })).toBe("t");
            // Synchronous replication: the commit is on the standby when it is acknowledged (applied within moments).
            let seen = "";
            for (let i = 0; i < 20 && seen !== "100"; i++) {
                seen = await psql("SELECT count(*) FROM drill WHERE run = 'basic'", { user: "analyst", port: 5433 });
                if (seen !== "100") await new Promise((r) => setTimeout(r, 250));
            }
            expect(seen).toBe("100");
        });

        test("least privilege: the analyst reads but cannot write; the ETL writer cannot reach keycloak's database or make roles", async () => {
            await expect(psql("INSERT INTO drill (run, i) VALUES ('analyst', 1)", { user: "analyst" })).rejects.toThrow(/permission denied for table drill/);
            expect(await psql("SELECT count(*) FROM drill WHERE run = 'basic'", { user: "analyst" })).toBe("100");
            await expect(psql("SELECT 1", { user: "etl_writer", db: "keycloak" })).rejects.toThrow(/permission denied for database "?keycloak"?|User does not have CONNECT privilege/);
            await expect(psql("CREATE ROLE intruder", { user: "etl_writer" })).rejects.toThrow(/permission denied to create role/);
            expect(await psql("SELECT datname || ':' || pg_get_userbyid(datdba) FROM pg_database WHERE datname IN ('warehouse', 'keycloak') ORDER BY 1")).toBe("keycloak:keycloak\nwarehouse:warehouse");
            expect(await psql("SELECT rolsuper::text || rolcreaterole::text || rolcreatedb::text FROM pg_roles WHERE rolname = 'etl_writer'")).toBe("falsefalsefalse");
        });

        test("no password (and not the backup repository's TLS key) is in the state, a service spec or a log", async () => {
            const passwords = await Promise.all(CLIENT_SECRETS.map((w) => sh(`docker exec ${CLIENT} cat /run/secrets/${NAME}-${w}`)));
            for (const p of passwords) expect(p).toMatch(/^[A-Za-z0-9_-]{43}$/);
            const backend = requiredEnv("PULUMI_BACKEND_URL").replace(/^file:\/\//, "");
            const state = fs.readFileSync(path.join(backend, ".pulumi/stacks/swarm-etl-tests", `${NAME}.json`), "utf8");
            expect(state).toContain(`${NAME}-superuser`); // the right file
            // Every service of the platform: the data tier, its client, the repository, the scheduler, Spark and the ETL.
            const services = `$(docker service ls -q --filter label=swarm-etl.stack=${NAME}) $(docker service ls -q --filter label=swarm-etl.stack=${SPARK}) $(docker service ls -q --filter label=swarm-etl.stack=${ETL}) ${NAME}-client ${REPO_NAME} ${SCHEDULER}`;
            const specs = await sh(`docker service inspect ${services}`);
            const logs = await sh(`for s in ${services}; do docker service logs --raw $s 2>&1; done`);
            expect(logs.length).toBeGreaterThan(0);
            const dbLog = await sh(`docker exec $(docker ps -q -f label=com.docker.swarm.service.name=${NAME}-wkr1) sh -c 'cat /var/lib/postgresql/data/pgdata/log/* 2>/dev/null || true'`, "wkr1");
            // The backup repository's TLS key, line by line (64 base64 characters each).
            const pem = await repoExec(`cat /run/secrets/${REPO_NAME}-tls`);
            const keyLines = pem.split("-----BEGIN PRIVATE KEY-----")[1].split("-----END PRIVATE KEY-----")[0].split("\n").filter((l) => l.length === 64);
            expect(keyLines.length).toBeGreaterThan(10);
            for (const p of [...passwords, ...keyLines]) {
                expect(state.includes(p)).toBe(false);
                expect(specs.includes(p)).toBe(false);
                expect(logs.includes(p)).toBe(false);
                expect(dbLog.includes(p)).toBe(false);
            }
        });

        test("the scheduler runs a template on its cron schedule as a Swarm job; the template stays as Pulumi made it", async () => {
            const t0 = Date.now();
            let runs: string[] = [];
            let logs = "";
            while (Date.now() - t0 < 150_000) {
                runs = (await sh(`docker service ls --filter label=swarm-etl.run-of=${NAME}-tick --format '{{.Name}}'`)).split("\n").filter(Boolean);
                logs = runs.length ? await sh(`for s in ${runs.join(" ")}; do docker service logs --raw $s 2>&1; done`) : "";
                if (/tick at \d\d:\d\d:\d\d/.test(logs)) break;
                await new Promise((r) => setTimeout(r, 5000));
            }
            expect(logs).toMatch(/tick at \d\d:\d\d:\d\d/);
            for (const r of runs) expect(r).toMatch(new RegExp(`^${NAME}-tick-\\d{8}t\\d{6}$`));
            expect(await sh(`docker service inspect ${runs[0]} --format '{{json .Spec.Mode}}'`)).toContain("ReplicatedJob");
            expect(await sh(`docker service inspect ${NAME}-tick --format '{{.Spec.Mode.Replicated.Replicas}}'`)).toBe("0");
            figures.postgres.push(`scheduler: first run of a * * * * * template ${((Date.now() - t0) / 1000).toFixed(0)} s after the check began`);
            let out = "";
            const preview = await stack().preview({ refresh: true, diff: true, onOutput: (o) => { out += o; log("pgt-scheduler-preview")(o); } });
            // What would change, if anything, in the engine's own words.
            const changes = out.split("\n").filter((l) => /^\s*~ /.test(l) && !/\(refresh\)/.test(l));
            expect(`${preview.changeSummary.update ?? 0} update(s)${changes.length ? `:\n${changes.join("\n")}` : ""}`).toBe("0 update(s)");
        });

        test("backups: WAL is archived and the first full backup is taken at deploy; a full backup on demand passes check and verify, in a repository on a node without a member", async () => {
            expect(await sh(`docker service logs --raw ${NAME}-backup-init 2>&1`)).toMatch(/check \(WAL archiving end to end\)[\s\S]*done/);
            expect(await sh(`docker service ps ${REPO_NAME} --filter desired-state=running --format '{{.Node}}'`)).toBe("mgr1");
            await psql("CREATE TABLE bk (id int PRIMARY KEY, batch text NOT NULL, payload text NOT NULL)", { user: "etl_writer" });
            await psql("INSERT INTO bk SELECT g, 'A', md5(g::text) FROM generate_series(1, 1000) g", { user: "etl_writer" });
            const t0 = Date.now();
            const out = await schedulerRun(`${NAME}-backup-full`);
            figures.postgres.push(`full backup on demand (scheduler run, check and verify included): ${((Date.now() - t0) / 1000).toFixed(1)} s`);
            expect(out).toMatch(/: complete$/m);
            expect(out).toMatch(/full backup: \d{8}-\d{6}F/);
            const info = JSON.parse(await repoExec(`pgbackrest --stanza=${NAME} info --output=json`)) as { backup: { type: string }[]; status: { code: number } }[];
            expect(info[0].status.code).toBe(0);
            expect(info[0].backup.filter((b) => b.type === "full").length).toBeGreaterThanOrEqual(2);
        });

        test("restore: a new cluster from the latest backup has identical row counts and checksums; PITR to a restore point has the rows before it and none after", async () => {
            await psql("INSERT INTO bk SELECT g, 'B', md5(g::text) FROM generate_series(1001, 2000) g", { user: "etl_writer" });
            await psql("SELECT pg_create_restore_point('mark')");
            await psql("INSERT INTO bk SELECT g, 'C', md5(g::text) FROM generate_series(2001, 3000) g", { user: "etl_writer" });
            const segment = await psql("SELECT pg_walfile_name(pg_switch_wal())");
            await until(async () => (await psql("SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver")) >= segment, 120_000, `WAL ${segment} archived`);
            const source = await checksums(NAME);
            expect(source.bk).toMatch(/^3000:/);
            platform.restoring = true;
            const t0 = Date.now();
            const up = await stack().up({ onOutput: log("pgt-restore") });
            expect(up.summary.result).toBe("succeeded");
            figures.postgres.push(`restore into two new clusters (latest; restore point), each with its first own backup: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
            expect(await checksums("pgr")).toEqual(source);
            expect(await psql("SELECT count(*) || ' ' || max(id) || ' ' || string_agg(DISTINCT batch, '' ORDER BY batch) FROM bk", { cluster: "pgp" })).toBe("2000 2000 AB");
            // The restored clusters archive into stanzas of their own, and took their first backup.
            for (const c of Object.keys(RESTORED)) {
                const i = JSON.parse(await repoExec(`pgbackrest --stanza=${c} info --output=json`)) as { backup: unknown[]; status: { code: number } }[];
                expect(i[0].status.code).toBe(0);
                expect(i[0].backup.length).toBe(1);
            }
            const diff = await schedulerRun(`${NAME}-backup-diff`);
            expect(diff).toMatch(/diff backup: \d{8}-\d{6}F_\d{8}-\d{6}D/);
            expect(diff).toMatch(/: complete$/m);
            platform.restoring = false;
            const down = await stack().up({ onOutput: log("pgt-restore-down") });
            expect(down.summary.result).toBe("succeeded");
            expect(await sh(`docker service ls -q --filter label=swarm-etl.stack=pgr`)).toBe("");
        });

        // Not the router: Keycloak's database is behind it, and a refresh reads the realm through Keycloak.
        test("drift: a member changed by hand and the backups' exporter removed by hand are seen by refresh and repaired by up; the data stays", async () => {
            const leader = (await healthy(60_000)).leader;
            const replica = MEMBERS.find((m) => m !== leader)!;
            await sh(`docker service update -d --env-add HAND_MADE=1 ${NAME}-${replica}`);
            await sh(`docker service rm ${REPO_NAME}-exporter`);
            const preview = await stack().preview({ refresh: true, onOutput: log("pgt-drift-preview") });
            expect(preview.changeSummary.update).toBeGreaterThanOrEqual(1);
            expect(preview.changeSummary.create).toBe(1);
            const up = await stack().up({ refresh: true, onOutput: log("pgt-drift-up") });
            expect(up.summary.result).toBe("succeeded");
            expect(await sh(`docker service inspect ${NAME}-${replica} --format '{{json .Spec.TaskTemplate.ContainerSpec.Env}}'`)).not.toContain("HAND_MADE");
            expect(await sh(`docker service inspect ${REPO_NAME}-exporter --format '{{.Spec.Name}}'`)).toBe(`${REPO_NAME}-exporter`);
            await healthy(90_000);
            expect(await psql("SELECT count(*) FROM drill WHERE run = 'basic'")).toBe("100");
        });

        test("an image the nodes cannot pull stops pulumi up before any service changes, naming the image, the node and the daemon's error", async () => {
            const before = await sh(`docker service inspect ${NAME}-router --format '{{.Version.Index}} {{.Spec.TaskTemplate.ContainerSpec.Image}}'`);
            platform.routerImage = image("router").replace(/@sha256:[0-9a-f]{64}$/, "@sha256:" + "0".repeat(64));
            try {
                const err = await stack().up({ onOutput: log("pgt-bad-image") }).then(
                    () => undefined,
                    (e: Error) => e.message,
                );
                expect(err).toMatch(new RegExp(`image ${platform.routerImage.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} cannot be pulled on (mgr|wkr)\\d: [^;]*(manifest unknown|not found)`, "i"));
                expect(err).toContain("no service was changed");
            } finally {
                platform.routerImage = undefined;
            }
            expect(await sh(`docker service inspect ${NAME}-router --format '{{.Version.Index}} {{.Spec.TaskTemplate.ContainerSpec.Image}}'`)).toBe(before);
            const up = await stack().up({ onOutput: log("pgt-good-image") });
            expect(up.summary.result).toBe("succeeded");
        });
    });
}

/** Drills, destructive ones: switchover, failovers, a wiped replica. Every one ends with the cluster healthy. */
export function postgresDrills(): void {
    describe("PostgresCluster drills: switchover, failover, rebuild", () => {
        test("switchover from config (postgres.primary): the other member leads, no commit is lost", async () => {
            const before = (await healthy(60_000)).leader;
            platform.primary = MEMBERS.find((m) => m !== before)!;
            const t0 = Date.now();
            const up = await stack().up({ onOutput: log("pgt-switchover") });
            expect(up.summary.result).toBe("succeeded");
            const { leader } = await healthy(60_000);
            expect(leader).toBe(platform.primary);
            figures.postgres.push(`switchover ${before} -> ${platform.primary} through pulumi up: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
            expect(await psql("SELECT count(*) FROM drill WHERE run = 'basic'")).toBe("100");
            await psql("INSERT INTO drill (run, i) VALUES ('switchover', 1)", { user: "etl_writer" });
        });

        test("failover drill 1: the primary's container is killed; writes go on within 30 s; every acknowledged commit is there", async () => {
            const leader = (await healthy(60_000)).leader;
            const run = "kill-container";
            const writes = writer(run, 45);
            await new Promise((r) => setTimeout(r, 5000));
            const killedAt = Date.now();
            await sh(`docker kill $(docker ps -q -f label=com.docker.swarm.service.name=${NAME}-${leader})`, leader);
            const r = await writes;
            const w = window(r);
            figures.postgres.push(`kill the primary's container (${leader}): ${w ? `writes failed for ${w.seconds.toFixed(1)} s` : "no write failed"} (${r.acked.length} acknowledged, ${r.errors.length} failed)`);
            expect(r.acked.length).toBeGreaterThan(50);
            if (w) expect(w.seconds).toBeLessThanOrEqual(30);
            expect(await missingAcked(run, r)).toEqual([]);
            const back = await healthy(60_000);
            figures.postgres.push(`  both members running again ${((Date.now() - killedAt) / 1000).toFixed(1)} s after the kill; primary: ${back.leader}`);
        });

        test("failover drill 2: the primary's Docker daemon dies (its containers live on): the member fences itself, writes go on within 30 s; every acknowledged commit is there", async () => {
            const leader = (await healthy(60_000)).leader;
            const run = "kill-dockerd";
            const container = await sh(`docker ps -q --no-trunc -f label=com.docker.swarm.service.name=${NAME}-${leader}`, leader);
            const writes = writer(run, 60);
            await new Promise((r) => setTimeout(r, 5000));
            const killedAt = Date.now();
            await labShell(`bash ${REPO}/lab/lab.sh dockerd ${leader} kill`);
            const r = await writes;
            const w = window(r);
            figures.postgres.push(`kill the primary's dockerd and containerd (${leader}; PostgreSQL lives on): ${w ? `writes failed for ${w.seconds.toFixed(1)} s` : "no write failed"} (${r.acked.length} acknowledged, ${r.errors.length} failed)`);
            if (w) expect(w.seconds).toBeLessThanOrEqual(30);
            expect(r.acked.filter(([, t]) => t > 10).length).toBeGreaterThan(100);
            expect(await missingAcked(run, r)).toEqual([]);
            const restartedAt = Date.now();
            await labShell(`bash ${REPO}/lab/lab.sh dockerd ${leader} start`);
            // The old primary stopped by itself (swarm-etl-pg-fence), not when its daemon came back.
            const [status, finishedAt] = (await sh(`docker inspect ${container} --format '{{.State.Status}} {{.State.FinishedAt}}'`, leader)).split(" ");
            expect(status).toBe("exited");
            const fencedAfter = (Date.parse(finishedAt) - killedAt) / 1000;
            figures.postgres.push(`  the old primary fenced itself ${fencedAfter.toFixed(1)} s after its daemon died`);
            expect(fencedAfter).toBeGreaterThan(0);
            expect(fencedAfter).toBeLessThan(20);
            const back = await healthy(90_000);
            figures.postgres.push(`  healthy again ${((Date.now() - restartedAt) / 1000).toFixed(1)} s after its dockerd started; primary: ${back.leader}`);
            expect(back.leader).not.toBe(leader);
            expect(await missingAcked(run, r)).toEqual([]);
        });

        test("failover drill 3: the primary's node crashes (daemon and containers); the standby takes over within 30 s; every acknowledged commit is there; the old primary returns as a replica within 60 s", async () => {
            const leader = (await healthy(60_000)).leader;
            const standby = MEMBERS.find((m) => m !== leader)!;
            const run = "crash-node";
            const writes = writer(run, 45);
            await new Promise((r) => setTimeout(r, 5000));
            await labShell(`bash ${REPO}/lab/lab.sh dockerd ${leader} crash`);
            const r = await writes;
            const w = window(r);
            figures.postgres.push(`crash the primary's node (${leader}): ${w ? `writes failed for ${w.seconds.toFixed(1)} s` : "no write failed"} (${r.acked.length} acknowledged, ${r.errors.length} failed)`);
            expect(w).toBeDefined();
            expect(w!.seconds).toBeLessThanOrEqual(30);
            expect(await leaderNode()).toBe(standby);
            expect(await missingAcked(run, r)).toEqual([]);
            const restartedAt = Date.now();
            await labShell(`bash ${REPO}/lab/lab.sh dockerd ${leader} start`);
            const back = await healthy(60_000);
            expect(back.leader).toBe(standby);
            expect((await cluster())[member(leader)].role).toBe("sync_standby");
            figures.postgres.push(`  the old primary ${leader} is a synchronous standby again ${((Date.now() - restartedAt) / 1000).toFixed(1)} s after its node came back`);
            expect(await missingAcked(run, r)).toEqual([]);
        });

        test("a replica whose volume is wiped is rebuilt from the primary by itself", async () => {
            const leader = (await healthy(60_000)).leader;
            const replica = MEMBERS.find((m) => m !== leader)!;
            const ids = `docker ps -q --no-trunc -f label=com.docker.swarm.service.name=${NAME}-${replica}`;
            const before = await sh(ids, replica);
            // PostgreSQL is stopped (SIGSTOP) before the wipe: a running standby keeps writing WAL and
            // restartpoints, and a file made while rm walks the tree leaves a half-wiped directory,
            // which Patroni rightly refuses to touch ("system ID is invalid; consider doing reinitialize").
            const wiped = await sh(
                `docker exec ${before} sh -c 'pkill -STOP -x postgres; rm -rf /var/lib/postgresql/data/pgdata; [ -e /var/lib/postgresql/data/pgdata ] && echo left || echo wiped'; docker kill ${before} >/dev/null`,
                replica,
            );
            expect(wiped).toBe("wiped");
            const t0 = Date.now();
            // Swarm starts a new task there; Patroni finds no data and clones the primary.
            for (let i = 0; i < 60; i++) {
                const now = await sh(ids, replica).catch(() => "");
                if (now && now !== before) break;
                await new Promise((r) => setTimeout(r, 1000));
            }
            await healthy(120_000).catch(async (e: Error) => {
                const tail = await sh(`docker logs --tail 40 $(${ids}) 2>&1`, replica).catch((x: Error) => x.message);
                // The drills after this one need both members: the runbook's repair (reinit from the
                // primary) before the failure is reported, so one failure does not become four.
                await sh(`docker exec $(${ids}) patronictl -c /run/patroni/patroni.yml reinit --force ${NAME} ${member(replica)}`, replica)
                    .then(() => healthy(180_000))
                    .catch(() => undefined);
                throw new Error(`${e.message}\nthe rebuilt member's last log lines:\n${tail}`);
            });
            figures.postgres.push(`replica ${replica} rebuilt after its data was wiped: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
            const logs = await sh(`docker logs $(${ids}) 2>&1 | grep -c 'replica has been created using basebackup' || true`, replica);
            expect(Number(logs)).toBeGreaterThanOrEqual(1);
            let count = "";
            for (let i = 0; i < 20 && count !== "100"; i++) {
                count = await psql("SELECT count(*) FROM drill WHERE run = 'basic'", { user: "analyst", port: 5433 }).catch(() => "");
                if (count !== "100") await new Promise((r) => setTimeout(r, 500));
            }
            expect(count).toBe("100");
        });
    });
}
