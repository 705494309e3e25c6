// What the lab tests know about the running lab: the config `lab/lab.sh up` wrote for the
// `lab` stack, validated by the program's own schema. A missing lab is a failure, never a skip.
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { parseStackConfig, rawConfigFromStackFile, StackConfig } from "../../config/schema";
import type { SshTarget } from "../../providers/ssh/connection";

export const REPO = path.resolve(__dirname, "../..");
export const LAB_STACK_FILE = path.join(REPO, "Pulumi.lab.yaml");

export function labConfig(): StackConfig {
    if (!fs.existsSync(LAB_STACK_FILE)) {
        throw new Error(`the lab is not up: ${LAB_STACK_FILE} is missing; run \`npm run lab -- up\` (npm test does this itself)`);
    }
    const doc = YAML.parse(fs.readFileSync(LAB_STACK_FILE, "utf8")) as { config: Record<string, unknown> };
    return parseStackConfig(rawConfigFromStackFile(doc.config));
}

export function privateKey(cfg: StackConfig): string {
    return cfg.sshPrivateKey ?? fs.readFileSync(cfg.sshPrivateKeyPath!, "utf8");
}

/** SSH targets of every lab host, by name, through the bastion. */
export function targets(cfg: StackConfig): Map<string, SshTarget> {
    const key = privateKey(cfg);
    const bastion = { name: cfg.bastion.name, host: cfg.bastion.publicAddress, port: cfg.bastion.port, user: cfg.bastion.user ?? cfg.sshUser, hostKey: cfg.bastion.hostKey };
    const m = new Map<string, SshTarget>();
    for (const h of [...cfg.managers, ...cfg.workers]) {
        m.set(h.name, { name: h.name, host: h.privateAddress, port: h.port, user: cfg.sshUser, hostKey: h.hostKey, bastion, privateKey: key });
    }
    m.set(cfg.bastion.name, { ...bastion, privateKey: key });
    return m;
}
