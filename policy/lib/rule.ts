// What every rule file builds on: the factory signature and a resource validation that only sees
// the given types, with the plain properties (lib/values.ts explains why not the proxy).
import type { EnforcementLevel, ReportViolation, ResourceValidation, ResourceValidationArgs, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import type { ProfileSource } from "./profile";
import { raw } from "./values";

/** A rule: a factory taking its enforcement level (and, for profile rules, where the profile comes from). */
export type RuleFactory = (enforcementLevel: EnforcementLevel, profile?: ProfileSource) => ResourceValidationPolicy | StackValidationPolicy;

/** A validation of the resources of `types` only; `check` gets their plain inputs. */
export function validateTypes<P>(types: readonly string[], check: (props: P, args: ResourceValidationArgs, report: ReportViolation) => void): ResourceValidation {
    return (args, report) => {
        if (!types.includes(args.type)) return;
        check(raw<P>(args.props), args, report);
    };
}
