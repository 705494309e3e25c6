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

/**
 * The logs of every container, running or exited, whose name starts with `prefix` (Swarm names a
 * task's container `<service>.<slot>.<task>`), read on each node itself: `docker service logs`
 * can hang on a task whose container is gone. Each container's read is bounded.
 */
export async function containerLogs(cfg: StackConfig, prefix: string, tail = 2000): Promise<string> {
    const sh = nodeShell(cfg);
    const nodes = [...cfg.managers, ...cfg.workers].map((h) => h.name);
    const out = await Promise.all(
        nodes.map((n) => sh(`for c in $(docker ps -a --format '{{.ID}} {{.Names}}' | awk -v p='${prefix}' 'index($2, p) == 1 {print $1}'); do timeout 30 docker logs --tail ${tail} $c 2>&1; done; true`, n, 120_000)),
    );
    return out.join("\n");
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
