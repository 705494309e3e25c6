// Starts the local Keycloak once for the whole `keycloak` project (scripts/keycloak-local.sh,
// idempotent: one already running is reused) and hands its endpoint to the tests through the
// environment. The admin client's secret stays in its file; only the file's path is passed.
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";

const REPO = path.resolve(__dirname, "../..");

export default function globalSetup(): void {
    execFileSync("bash", [path.join(REPO, "scripts/keycloak-local.sh"), "start"], { stdio: ["ignore", "ignore", "inherit"] });
    const cache = process.env.SWARM_ETL_CACHE ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(process.env.HOME ?? "/root", ".cache"), "swarm-etl");
    const env = fs.readFileSync(path.join(cache, "keycloak-local/run/endpoint.env"), "utf8");
    for (const line of env.split("\n")) {
        const m = /^(KEYCLOAK_[A-Z_]+)=(.*)$/.exec(line);
        if (m) process.env[m[1]] = m[2];
    }
}
