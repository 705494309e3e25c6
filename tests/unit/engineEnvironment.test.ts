import { engineGone } from "../environment";

const grpc = (code: number, details: string, frame: string) =>
    Object.assign(new Error(`${code} ${details}`), { code, details, stack: `Error: ${details}\n    at ${frame}` });

describe("the engine tests' environment filter: which unhandled rejections are an ended engine's", () => {
    test("gRPC UNAVAILABLE from @pulumi's runtime: Connection dropped, No connection established", () => {
        expect(engineGone(grpc(14, "Connection dropped", "/r/node_modules/@pulumi/runtime/resource.ts:1345:37"))).toBe(true);
        expect(engineGone(grpc(14, "No connection established", "/r/node_modules/@pulumi/pulumi/runtime/resource.js:9:1"))).toBe(true);
    });
    test("anything else still fails the test: another code, another cause, not Pulumi's, not an error", () => {
        expect(engineGone(grpc(2, "Connection dropped", "/r/node_modules/@pulumi/runtime/resource.ts:1:1"))).toBe(false);
        expect(engineGone(grpc(14, "Deadline exceeded", "/r/node_modules/@pulumi/runtime/resource.ts:1:1"))).toBe(false);
        expect(engineGone(grpc(14, "Connection dropped", "/r/providers/swarm/service.ts:1:1"))).toBe(false);
        expect(engineGone(new Error("boom"))).toBe(false);
        expect(engineGone(undefined)).toBe(false);
        expect(engineGone("Connection dropped")).toBe(false);
    });
});
