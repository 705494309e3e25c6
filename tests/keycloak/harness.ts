// Shared harness of the Keycloak tests: the local Keycloak's admin endpoint (globalSetup started
// it), an admin client of its own to change things "in the console" and to look at the live
// state, and inline Pulumi programs run by the real engine in stacks of a file backend of their own.
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import { AdminClient, adminClient, AdminEndpoint } from "../../providers/keycloak/admin";

export const REPO = path.resolve(__dirname, "../..");
const WORK = path.join(REPO, "tests/keycloak/.work");
/** The stacks' file backend: throwaway, like the local Keycloak (the passphrase is a fixed one). */
export const BACKEND = path.join(WORK, "state");
export const PROJECT = "swarm-etl-keycloak-tests";

function requiredEnv(name: string): string {
    const v = process.env[name];
    if (!v) throw new Error(`${name} is not set: the keycloak project's globalSetup sets it; run \`npx jest --selectProjects keycloak\` (or \`npm test\`)`);
    return v;
}

/** The local Keycloak's master realm service account (its secret read from the file the script keeps). */
export function endpoint(): AdminEndpoint {
    return {
        url: requiredEnv("KEYCLOAK_URL"),
        clientId: requiredEnv("KEYCLOAK_ADMIN_CLIENT_ID"),
        clientSecret: fs.readFileSync(requiredEnv("KEYCLOAK_ADMIN_CLIENT_SECRET_FILE"), "utf8").trim(),
    };
}

/** An admin client of the tests' own (the same library the providers use, in this process). */
export function admin(): Promise<AdminClient> {
    return adminClient(endpoint());
}

export const log = (tag: string) => (out: string) => {
    if (process.env.SWARM_ETL_TEST_VERBOSE) process.stdout.write(`[${tag}] ${out}`);
};

/** The engine (engine/build.sh) must be on PATH, with Node 22 for its language host and the dynamic providers. */
function requireEngine(): void {
    try {
        execFileSync("pulumi", ["version"], { stdio: "ignore" });
    } catch {
        throw new Error("the Pulumi engine is not on PATH; fix: bash scripts/setup.sh, then `. engine/env.sh` before jest (npm test does both)");
    }
}

/**
 * A stack named `name` running `program` through the real engine. Its work directory is
 * tests/keycloak/.work/<name> with node_modules linked in, so the dynamic providers' `require`s resolve.
 */
export async function inlineStack(name: string, program: () => Promise<Record<string, unknown> | void>): Promise<Stack> {
    requireEngine();
    const workDir = path.join(WORK, name);
    fs.mkdirSync(workDir, { recursive: true });
    fs.mkdirSync(BACKEND, { recursive: true });
    const link = path.join(workDir, "node_modules");
    if (!fs.existsSync(link)) fs.symlinkSync(path.join(REPO, "node_modules"), link);
    return LocalWorkspace.createOrSelectStack(
        { stackName: name, projectName: PROJECT, program },
        {
            workDir,
            envVars: { PULUMI_BACKEND_URL: `file://${BACKEND}`, PULUMI_CONFIG_PASSPHRASE: "swarm-etl-keycloak-tests" },
            projectSettings: { name: PROJECT, runtime: "nodejs" },
        },
    );
}

/** The stack's checkpoint file as stored (exportStack would decrypt the secrets for us). */
export function stateFile(stack: string): string {
    return fs.readFileSync(path.join(BACKEND, ".pulumi/stacks", PROJECT, `${stack}.json`), "utf8");
}

/** The operations of a summary that are not "same". */
export const changes = (summary: Record<string, number> | undefined) => Object.fromEntries(Object.entries(summary ?? {}).filter(([op, n]) => op !== "same" && n > 0));

/** The claims of a JWT (its payload, not verified: Keycloak just issued it over loopback). */
export function claims(jwt: string): Record<string, unknown> {
    return JSON.parse(Buffer.from(jwt.split(".")[1], "base64url").toString("utf8"));
}

/** A password grant at `client` of `realm`: the token response, or Keycloak's error. */
export async function passwordGrant(realm: string, client: { clientId: string; secret: string }, username: string, password: string): Promise<{ status: number; body: Record<string, string> }> {
    const res = await fetch(`${endpoint().url}/realms/${realm}/protocol/openid-connect/token`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ grant_type: "password", client_id: client.clientId, client_secret: client.secret, username, password, scope: "openid" }),
    });
    return { status: res.status, body: (await res.json()) as Record<string, string> };
}
