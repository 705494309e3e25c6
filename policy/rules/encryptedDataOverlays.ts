// encrypted-data-overlays: overlay networks that carry data are encrypted (IPsec) outside the lab.
// The lab is exempt: its kernel has no ESP, so encrypted overlays cannot carry traffic between nodes.
import type { EnforcementLevel, ResourceValidationPolicy } from "@pulumi/policy";
import { LABELS } from "../lib/conventions";
import { profileNote, ProfileSource, stackProfile } from "../lib/profile";
import { validateTypes } from "../lib/rule";
import { TYPES, type NetworkProps } from "../lib/types";
import { isObject, isUnknown, knownString } from "../lib/values";

export const NAME = "encrypted-data-overlays";

export function encryptedDataOverlays(enforcementLevel: EnforcementLevel, profileOf: ProfileSource = stackProfile): ResourceValidationPolicy {
    return {
        name: NAME,
        description: "Overlay networks that carry data are encrypted (the lab is exempt: its kernel cannot encrypt).",
        enforcementLevel,
        severity: "high",
        validateResource: validateTypes<NetworkProps>([TYPES.network], (props, args, report) => {
            const profile = profileOf();
            if (profile.profile === "lab") return args.notApplicable("the lab's kernel cannot encrypt overlay traffic (no ESP)");
            const labels = props.labels;
            if (isUnknown(labels) || (isObject(labels) && isUnknown(labels[LABELS.data]))) return; // the exemption is not known yet
            if (isObject(labels) && labels[LABELS.data] === "false") return; // declared to carry no data
            if (isUnknown(props.encrypted) || props.encrypted === true) return;
            report(
                `overlay network ${JSON.stringify(knownString(props.name) ?? args.name)} is not encrypted: VXLAN carries its traffic between ` +
                    `nodes in clear text (database sessions, credentials, data sets), readable by anything on the hosts' network. ` +
                    `Fix: set encrypted: true (swarm-etl:encryptOverlays true, the default outside the lab; ESP must pass between the nodes). ` +
                    `A network that carries no data can be labelled ${LABELS.data}=false.` +
                    profileNote(profile),
            );
        }),
    };
}
