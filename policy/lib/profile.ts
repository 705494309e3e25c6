// The stack's profile (lab | dev | prod), which some rules depend on ("prod has 3 managers",
// "the lab is exempt from encryption").
//
// Read, in order, from:
//   1. the stack's own config `swarm-etl:profile`: the engine sends the stack config to the policy
//      pack (Analyzer ConfigureStack) and the Node.js language host passes it on as PULUMI_CONFIG;
//   2. the stack name (PULUMI_NODEJS_STACK): `lab`, `dev`, `prod`, or a name with one of them as a
//      `-`/`.`/`_`/`/`-separated part (`prod-eu`, `acme/swarm-etl/dev`);
//   3. otherwise prod: a stack whose profile cannot be read is held to the strictest rules.

export type Profile = "lab" | "dev" | "prod";
export const PROFILES: readonly Profile[] = ["lab", "dev", "prod"];

export interface ResolvedProfile {
    profile: Profile;
    /** Where it was read from, for messages. */
    source: string;
}

/** How a rule learns the profile; tests pass a fixed one. */
export type ProfileSource = () => ResolvedProfile;

const isProfile = (v: unknown): v is Profile => typeof v === "string" && (PROFILES as readonly string[]).includes(v);

/** The profile of the stack under analysis, from the environment the engine gives the pack. */
export function stackProfile(env: NodeJS.ProcessEnv = process.env): ResolvedProfile {
    const raw = env.PULUMI_CONFIG;
    if (raw) {
        try {
            const cfg = JSON.parse(raw) as Record<string, unknown>;
            // The language host writes `ns:key`; older hosts wrote `ns:config:key`.
            const v = cfg["swarm-etl:profile"] ?? cfg["swarm-etl:config:profile"];
            if (isProfile(v)) return { profile: v, source: "stack config swarm-etl:profile" };
        } catch {
            // not JSON: fall through to the stack name
        }
    }
    const stack = env.PULUMI_NODEJS_STACK ?? "";
    const parts = stack.toLowerCase().split(/[-./_]/);
    for (const p of PROFILES) {
        if (parts.includes(p)) return { profile: p, source: `stack name ${stack}` };
    }
    return { profile: "prod", source: stack ? `stack name ${stack} (no profile in it: prod's rules apply)` : "no stack config or name (prod's rules apply)" };
}

/** A fixed profile (tests, or a caller that knows it). */
export const fixedProfile = (profile: Profile): ProfileSource => () => ({ profile, source: "fixed" });

/** ` [profile prod, from stack config swarm-etl:profile]`: appended to messages of profile rules. */
export const profileNote = (p: ResolvedProfile) => ` [profile ${p.profile}, from ${p.source}]`;
