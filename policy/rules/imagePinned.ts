// image-pinned: every service's image is pinned to a version tag or a digest (no `latest`, no
// missing tag).
import type { EnforcementLevel, ResourceValidationPolicy } from "@pulumi/policy";
import { parseImage, serviceTitle } from "../lib/conventions";
import { validateTypes } from "../lib/rule";
import { TYPES, type ServiceProps } from "../lib/types";
import { knownString } from "../lib/values";

export const NAME = "image-pinned";

/** Why the image reference is not pinned, or undefined when it is. */
export function unpinned(image: string): string | undefined {
    const ref = parseImage(image);
    if (ref.digest) return /^sha256:[0-9a-f]{64}$/.test(ref.digest) ? undefined : `has a malformed digest ${JSON.stringify(ref.digest)}`;
    if (!ref.tag) return "has no tag (Docker reads it as latest)";
    if (ref.tag.toLowerCase() === "latest") return "uses the tag latest";
    return undefined;
}

export function imagePinned(enforcementLevel: EnforcementLevel): ResourceValidationPolicy {
    return {
        name: NAME,
        description: "Every service's image is pinned to a version tag or a digest (no latest, no missing tag).",
        enforcementLevel,
        severity: "high",
        validateResource: validateTypes<ServiceProps>([TYPES.service], (props, args, report) => {
            const image = knownString(props.image);
            if (image === undefined) return; // not known yet (e.g. built by another resource)
            const why = unpinned(image);
            if (!why) return;
            const { repository } = parseImage(image);
            report(
                `${serviceTitle(props, args.name)} runs ${JSON.stringify(image)}, which ${why}: a moving tag runs whatever was pushed last, ` +
                    `so nodes that pull at different times run different code, a rollback does not bring the old code back, ` +
                    `and the preview cannot show what will change. ` +
                    `Fix: use a version tag (${repository}:<version>) or a digest (${repository}@sha256:<digest>).`,
            );
        }),
    };
}
