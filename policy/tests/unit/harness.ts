// Calls a rule's validate function the way @pulumi/policy's analyzer server does: the properties
// wrapped in the same unknown-checking proxy, `notApplicable` throwing, violations collected.
import type { PolicyResource, ReportViolation, ResourceValidationArgs, ResourceValidationPolicy, StackValidationArgs, StackValidationPolicy } from "@pulumi/policy";
import { engineProxy } from "../../lib/values";

export interface Outcome {
    violations: { message: string; urn?: string }[];
    /** The reason, when the rule said it does not apply. */
    notApplicable?: string;
}

class NotApplicable extends Error {
    constructor(public readonly reason: string) {
        super(reason);
    }
}

const notApplicable = (reason?: string): never => {
    throw new NotApplicable(reason ?? "");
};

const urnOf = (type: string, name: string) => `urn:pulumi:test::swarm-etl::${type}::${name}`;

const resourceOptions = (parent?: string) => ({
    protect: false,
    ignoreChanges: [],
    aliases: [],
    customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
    additionalSecretOutputs: ["privateKey"],
    parent,
});

async function collect(run: (report: ReportViolation) => Promise<void> | void): Promise<Outcome> {
    const violations: Outcome["violations"] = [];
    try {
        await run((message, urn) => violations.push(urn === undefined ? { message } : { message, urn }));
    } catch (err) {
        if (err instanceof NotApplicable) return { violations, notApplicable: err.reason };
        throw err;
    }
    return { violations };
}

/** Runs a resource rule on one resource of `type` with inputs `props`. */
export function checkResource(policy: ResourceValidationPolicy, type: string, props: object, name = "res"): Promise<Outcome> {
    const validations = Array.isArray(policy.validateResource) ? policy.validateResource : [policy.validateResource!];
    const args: ResourceValidationArgs = {
        type,
        props: engineProxy(props) as Record<string, unknown>,
        urn: urnOf(type, name),
        name,
        opts: resourceOptions(),
        stackTags: new Map(),
        isType: () => false,
        asType: () => undefined,
        getConfig: <T extends object>() => ({}) as T,
        notApplicable,
    };
    return collect(async (report) => {
        for (const v of validations) await v(args, report);
    });
}

/** A resource of a stack, as a stack rule sees it. */
export interface StackResource {
    type: string;
    name: string;
    props: object;
    /** Names of resources (in the same list) that property `node` etc. depend on. */
    propertyDependencies?: Record<string, string[]>;
}

/** Runs a stack rule on the resources. */
export function checkStack(policy: StackValidationPolicy, resources: StackResource[]): Promise<Outcome> {
    const built: PolicyResource[] = resources.map((r) => ({
        type: r.type,
        name: r.name,
        urn: urnOf(r.type, r.name),
        props: engineProxy(r.props) as Record<string, unknown>,
        opts: resourceOptions(),
        dependencies: [],
        propertyDependencies: {},
        isType: () => false,
        asType: () => undefined,
    }));
    resources.forEach((r, i) => {
        for (const [prop, names] of Object.entries(r.propertyDependencies ?? {})) {
            built[i].propertyDependencies[prop] = names.map((n) => built.find((b) => b.name === n)!);
        }
    });
    const args: StackValidationArgs = {
        resources: built,
        stackTags: new Map(),
        getConfig: <T extends object>() => ({}) as T,
        notApplicable,
    };
    return collect((report) => policy.validateStack(args, report));
}

export { urnOf };
