// Runs a command as the lab's administrator (root on this machine): used by tests to break the
// lab on purpose (block a host's sshd, stop a daemon) and to repair it again.
import { execFile } from "child_process";

export function labShell(command: string): Promise<string> {
    return new Promise((resolve, reject) => {
        execFile("bash", ["-c", command], { timeout: 60_000 }, (err, stdout, stderr) => {
            if (err) reject(new Error(`lab command failed: ${command}: ${stderr || err.message}`));
            else resolve(stdout);
        });
    });
}
