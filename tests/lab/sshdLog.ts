// Counts SSH handshakes as each lab host's sshd sees them ("Accepted publickey" lines appended to
// its log while `fn` runs).
import * as fs from "fs";
import * as path from "path";

const LAB_DIR = process.env.SWARM_ETL_LAB_DIR ?? "/var/lib/swarm-etl-lab";

function sshdLog(host: string): string {
    return path.join(LAB_DIR, "hosts", host, "log", "sshd.log");
}

function size(file: string): number {
    if (!fs.existsSync(file)) throw new Error(`${file} is missing: is the lab up? (lab/lab.sh up)`);
    return fs.statSync(file).size;
}

export async function countHandshakes<T>(hostNames: string[], fn: () => Promise<T>): Promise<{ result: T; handshakes: Record<string, number> }> {
    const before = Object.fromEntries(hostNames.map((h) => [h, size(sshdLog(h))]));
    const result = await fn();
    await new Promise((r) => setTimeout(r, 200)); // let sshd flush its log lines
    const handshakes: Record<string, number> = {};
    for (const h of hostNames) {
        const fd = fs.openSync(sshdLog(h), "r");
        const len = size(sshdLog(h)) - before[h];
        const buf = Buffer.alloc(Math.max(0, len));
        fs.readSync(fd, buf, 0, buf.length, before[h]);
        fs.closeSync(fd);
        handshakes[h] = (buf.toString().match(/Accepted publickey/g) ?? []).length;
    }
    return { result, handshakes };
}
