/**
 * The test environment of the projects that drive the real engine through inline programs (lab,
 * keycloak): Node's, with one difference. A Pulumi inline program keeps
 * running after its engine has gone — an `up` that failed as a test expects (an image no node can
 * pull, a data-quality check) ends the engine while components still register their outputs — and
 * those calls reject with gRPC UNAVAILABLE ("Connection dropped") as unhandled rejections
 * (pulumi/pulumi#10744). Jest would fail whichever test runs at that moment. This environment drops
 * exactly those rejections, with a line on stderr; every other one still fails the test. A live
 * `up` that loses its engine rejects its own promise, so nothing real is hidden.
 */
import type { EnvironmentContext, JestEnvironmentConfig } from "@jest/environment";
import type { Circus } from "@jest/types";
import { TestEnvironment } from "jest-environment-node";

type Listener = (reason: unknown, promise: Promise<unknown>) => void;

/** A Pulumi program's RPC to an engine that has ended: gRPC status 14 from @pulumi's runtime. */
export function engineGone(reason: unknown): boolean {
    const e = reason as { code?: unknown; details?: unknown; stack?: unknown } | undefined;
    return (
        e?.code === 14 &&
        /Connection dropped|No connection established/.test(String(e.details ?? "")) &&
        /[/\\]@pulumi[/\\]/.test(String(e.stack ?? ""))
    );
}

export default class EngineEnvironment extends TestEnvironment {
    private filter?: Listener;
    private parent?: NodeJS.Process;

    constructor(config: JestEnvironmentConfig, context: EnvironmentContext) {
        super(config, context);
    }

    // Circus calls this after its own handler: at `setup` Jest's listener is in place to wrap.
    async handleTestEvent(event: Circus.Event): Promise<void> {
        if (event.name === "setup") {
            const parent = event.parentProcess;
            const jests = parent.listeners("unhandledRejection") as Listener[];
            parent.removeAllListeners("unhandledRejection");
            this.filter = (reason, promise) => {
                if (engineGone(reason)) {
                    process.stderr.write(`[engine] ignored a Pulumi program's call after its engine ended: ${(reason as Error).message}\n`);
                    return;
                }
                for (const l of jests) l(reason, promise);
            };
            parent.on("unhandledRejection", this.filter);
            this.parent = parent;
        } else if (event.name === "teardown" && this.filter) {
            this.parent?.removeListener("unhandledRejection", this.filter);
            this.filter = undefined;
        }
    }
}
