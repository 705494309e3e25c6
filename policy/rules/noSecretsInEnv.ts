// no-secrets-in-env: no secret-looking value in a service's environment. Secrets go in Swarm
// secrets, mounted as files, and the image reads them through a `*_FILE` variable.
import type { EnforcementLevel, ResourceValidationPolicy } from "@pulumi/policy";
import { serviceTitle } from "../lib/conventions";
import { validateTypes } from "../lib/rule";
import { TYPES, type ServiceProps } from "../lib/types";
import { isObject, isUnknown } from "../lib/values";

export const NAME = "no-secrets-in-env";

/** Words that make a variable's name secret-looking, anywhere in it (PGPASSWORD, KC_DB_PASSWORD). */
const SECRET_WORDS = /PASSWORD|PASSWD|PASSPHRASE|SECRET|TOKEN|CREDENTIAL|APIKEY|PRIVATEKEY/;
/** `KEY`/`PASS`/`PWD` only as a whole part of the name (API_KEY, SSH_KEY, DB_PASS — not KEYCLOAK_URL, PASSIVE). */
const SECRET_PARTS = new Set(["KEY", "PASS", "PWD"]);
/** Names that point at a file or describe a setting, not a value: POSTGRES_PASSWORD_FILE, TOKEN_TTL, SECRET_NAME. */
const NOT_A_VALUE = /_(FILE|PATH|DIR|TTL|LENGTH|EXPIRY|EXPIRES|TIMEOUT|URL|URI|ENDPOINT|METHOD|TYPE|ENABLED|HEADER|ISSUER|NAME|ID)$/;
/** Values that are secrets whatever their name. */
const SECRET_VALUES: [RegExp, string][] = [
    [/-----BEGIN [A-Z ]*PRIVATE KEY-----/, "a PEM private key"],
    [/^[a-z][a-z0-9+.-]*:\/\/[^/\s:@]+:[^/\s@]+@/i, "a URL with a password in it"],
    [/^(AKIA|ASIA)[A-Z0-9]{16}$/, "an AWS access key ID"],
    [/^gh[pousr]_[A-Za-z0-9]{36,}$/, "a GitHub token"],
    [/^eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]+$/, "a JSON Web Token"],
];

/** The parts of a variable name, upper-cased: `dbPassword` and `DB_PASSWORD` both give DB, PASSWORD. */
const nameParts = (name: string) =>
    name
        .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
        .toUpperCase()
        .split(/[^A-Z0-9]+/)
        .filter(Boolean);

/** Why the variable looks like it holds a secret, or undefined. */
export function secretLooking(name: string, value: unknown): string | undefined {
    if (typeof value === "string" && !isUnknown(value)) {
        for (const [re, what] of SECRET_VALUES) if (re.test(value)) return `its value is ${what}`;
    }
    const upper = nameParts(name).join("_");
    if (NOT_A_VALUE.test(upper)) return undefined;
    if (typeof value === "string" && !isUnknown(value) && value.trim() === "") return undefined;
    if (SECRET_WORDS.test(upper.replace(/_/g, "")) || nameParts(name).some((p) => SECRET_PARTS.has(p))) return "its name says it holds a secret";
    return undefined;
}

export function noSecretsInEnv(enforcementLevel: EnforcementLevel): ResourceValidationPolicy {
    return {
        name: NAME,
        description: "No secret-looking value in a service's environment: use Swarm secrets and *_FILE variables.",
        enforcementLevel,
        severity: "critical",
        validateResource: validateTypes<ServiceProps>([TYPES.service], (props, args, report) => {
            if (!isObject(props.env)) return; // no env, or not known yet
            for (const [name, value] of Object.entries(props.env)) {
                const why = secretLooking(name, value);
                if (!why) continue;
                report(
                    `${serviceTitle(props, args.name)} sets ${name} in its environment and ${why}: environment variables are stored in ` +
                        `the service spec, so \`docker service inspect\`, \`docker inspect\` of every task, the Raft log and this stack's state ` +
                        `show it to anyone who can read them, and processes pass it on to their children. ` +
                        `Fix: create a Swarm secret (a swarm Secret resource, its data from secure config), mount it ` +
                        `(secrets: [{ secretId, secretName, target: "${name.toLowerCase()}" }]) ` +
                        `and set ${name}_FILE=/run/secrets/${name.toLowerCase()} for images that read *_FILE variables (or read the file in the entrypoint).`,
                );
            }
        }),
    };
}
