// Helpers of the data-tier lab tests: a command on a lab host (through the bastion), a script
// passed base64-encoded, an image the lab's build recorded, and polling until a check holds.
import { withSession } from "../../providers/ssh/connection";
import { StackConfig } from "../../config/schema";
import { targets } from "./labConfig";

/** `sh(command, host)`: runs a command on a lab host; a non-zero exit throws with its output. */
export function nodeShell(cfg: StackConfig) {
    const hosts = targets(cfg);
    return async function sh(command: string, host = "mgr1", timeoutMs?: number): Promise<string> {
        const r = await withSession(hosts.get(host)!, (s) => s.exec(command, timeoutMs));
        if (r.code !== 0) throw new Error(`\`${command.slice(0, 200)}\` on ${host} failed (${r.code}): ${r.stderr.trim() || r.stdout.trim()}`);
        return r.stdout.trim();
    };
}

export const b64 = (text: string) => Buffer.from(text, "utf8").toString("base64");

/** The reference `images/build.sh --lab` recorded for an image, or a failure that says what to run. */
export function recordedImage(cfg: StackConfig, name: string): string {
    const ref = cfg.images[name];
    if (!ref) throw new Error(`Pulumi.lab.yaml has no swarm-etl:images.${name}; run \`bash images/build.sh --lab\` after \`lab/lab.sh up\` (npm test does)`);
    return ref;
}

/** Polls `check` every 2 s until it holds; throws naming `what` after `timeoutMs`. */
export async function until(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
    const t0 = Date.now();
    while (Date.now() - t0 < timeoutMs) {
        if (await check().catch(() => false)) return;
        await new Promise((r) => setTimeout(r, 2000));
    }
    throw new Error(`not within ${timeoutMs / 1000} s: ${what}`);
}
