// The last output of a failed task, as the convergence error shows it: Docker's multiplexed log
// frames (stdout/stderr, 8-byte headers) are taken apart; unframed bytes pass as they are.
import { demuxLogs } from "../../providers/swarm/serviceConverge";

const frame = (stream: 1 | 2, text: string) => {
    const body = Buffer.from(text, "utf8");
    const head = Buffer.alloc(8);
    head[0] = stream;
    head.writeUInt32BE(body.length, 4);
    return Buffer.concat([head, body]);
};

describe("demuxLogs", () => {
    test("stdout and stderr frames in order, headers removed", () => {
        const raw = Buffer.concat([frame(1, "starting\n"), frame(2, "Traceback (most recent call last):\n"), frame(2, "PermissionError: [Errno 13]\n")]);
        expect(demuxLogs(raw)).toBe("starting\nTraceback (most recent call last):\nPermissionError: [Errno 13]\n");
    });
    test("a stream without frames (a TTY) is returned as it is", () => {
        expect(demuxLogs(Buffer.from("plain output\n"))).toBe("plain output\n");
    });
    test("an empty stream is empty", () => {
        expect(demuxLogs(Buffer.alloc(0))).toBe("");
    });
});
