// Stops the local Keycloak after the `keycloak` project, unless KEEP_KEYCLOAK=1 (a rerun then
// starts in seconds instead of a minute).
import { execFileSync } from "child_process";
import * as path from "path";

export default function globalTeardown(): void {
    if (process.env.KEEP_KEYCLOAK === "1") return;
    execFileSync("bash", [path.resolve(__dirname, "../../scripts/keycloak-local.sh"), "stop"], { stdio: ["ignore", "ignore", "inherit"] });
}
