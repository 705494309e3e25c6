import type { ResourceValidationPolicy } from "@pulumi/policy";
import { TYPES } from "../../../lib/types";
import { UNKNOWN } from "../../../lib/values";
import { noSecretsInEnv, secretLooking } from "../../../rules/noSecretsInEnv";
import { postgres, service } from "../fixtures";
import { checkResource } from "../harness";

const rule = noSecretsInEnv("mandatory") as ResourceValidationPolicy;

describe("no-secrets-in-env", () => {
    test("compliant: *_FILE variables pointing at Swarm secrets, and plain settings", async () => {
        expect(await checkResource(rule, TYPES.service, service())).toEqual({ violations: [] });
        expect(await checkResource(rule, TYPES.service, postgres())).toEqual({ violations: [] });
        const keycloak = service({ env: { KEYCLOAK_URL: "http://keycloak:8080", KC_DB_PASSWORD_FILE: "/run/secrets/kc_db", TOKEN_TTL: "300", PASSIVE_MODE: "1", OAUTH2_PROXY_PROVIDER: "keycloak-oidc" } });
        expect(await checkResource(rule, TYPES.service, keycloak)).toEqual({ violations: [] });
    });

    test("non-compliant: a password in the environment", async () => {
        const { violations } = await checkResource(rule, TYPES.service, postgres({ env: { POSTGRES_USER: "etl", POSTGRES_PASSWORD: "hunter2" } }));
        expect(violations).toEqual([
            {
                message:
                    'service "etl-db" sets POSTGRES_PASSWORD in its environment and its name says it holds a secret: environment variables are ' +
                    "stored in the service spec, so `docker service inspect`, `docker inspect` of every task, the Raft log and this stack's state " +
                    "show it to anyone who can read them, and processes pass it on to their children. Fix: create a Swarm secret (a swarm Secret " +
                    'resource, its data from secure config), mount it (secrets: [{ secretId, secretName, target: "postgres_password" }]) and set ' +
                    "POSTGRES_PASSWORD_FILE=/run/secrets/postgres_password for images that read *_FILE variables (or read the file in the entrypoint).",
            },
        ]);
    });

    test("non-compliant: secret-looking names and values", () => {
        for (const name of ["PGPASSWORD", "API_KEY", "apiKey", "GITHUB_TOKEN", "OAUTH2_PROXY_COOKIE_SECRET", "AWS_SECRET_ACCESS_KEY", "SSH_PRIVATE_KEY", "DB_PASS", "MINIO_ROOT_PASSWORD"]) {
            expect([name, secretLooking(name, "x")]).toEqual([name, "its name says it holds a secret"]);
        }
        expect(secretLooking("DATABASE_URL", "postgresql://etl:hunter2@etl-db:5432/etl")).toBe("its value is a URL with a password in it");
        expect(secretLooking("CERT", "-----BEGIN OPENSSH PRIVATE KEY-----\nabc")).toBe("its value is a PEM private key");
        expect(secretLooking("ID", "AKIAIOSFODNN7EXAMPLE")).toBe("its value is an AWS access key ID");
        expect(secretLooking("DATABASE_URL", "postgresql://etl-db:5432/etl")).toBeUndefined();
        expect(secretLooking("POSTGRES_PASSWORD", "")).toBeUndefined();
    });

    test("a secret-looking name is a violation whatever its value, also one not known during preview", async () => {
        expect((await checkResource(rule, TYPES.service, service({ env: { API_TOKEN: UNKNOWN.string } }))).violations).toHaveLength(1);
    });

    test("unknown during preview: an unknown environment is not a violation", async () => {
        expect(await checkResource(rule, TYPES.service, service({ env: UNKNOWN.object }))).toEqual({ violations: [] });
    });
});
