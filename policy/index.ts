// The swarm-etl policy pack: what a preview or update of a swarm-etl stack must not do.
// One rule per file in rules/; what they read and why: docs/policy.md.
//   pulumi preview --stack dev --policy-pack policy --policy-pack-config policy/config/dev.json
import { PolicyPack } from "@pulumi/policy";
import { policies } from "./rules";

new PolicyPack("swarm-etl", {
    description: "Safety rules for swarm-etl stacks: quorum, SSH host keys, exposure, secrets, images, service health and state.",
    policies: policies(),
});
