// The test environment of the engine-driving projects (tests/environment.ts): an inline program's RPC rejected after its
// engine ended does not fail the test that runs at that moment; tests/unit/engineEnvironment.test.ts
// checks what counts as such a rejection.
function engineGoneError(): Error {
    const e = Object.assign(new Error("14 UNAVAILABLE: Connection dropped"), { code: 14, details: "Connection dropped" });
    e.stack = `${e.stack}\nfor call at\n    at ServiceClientImpl.registerResourceOutputs (/repo/node_modules/@grpc/grpc-js/src/make-client.ts:189:15)\n    at /repo/node_modules/@pulumi/runtime/resource.ts:1345:37`;
    return e;
}

test("a Pulumi program's call rejected after its engine ended (unhandled) does not fail the test running then", async () => {
    void Promise.reject(engineGoneError());
    await new Promise((r) => setTimeout(r, 200));
});
