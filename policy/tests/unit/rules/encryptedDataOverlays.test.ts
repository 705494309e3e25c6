import type { ResourceValidationPolicy } from "@pulumi/policy";
import { fixedProfile } from "../../../lib/profile";
import { TYPES } from "../../../lib/types";
import { UNKNOWN } from "../../../lib/values";
import { encryptedDataOverlays } from "../../../rules/encryptedDataOverlays";
import { network } from "../fixtures";
import { checkResource } from "../harness";

const prod = encryptedDataOverlays("mandatory", fixedProfile("prod")) as ResourceValidationPolicy;

describe("encrypted-data-overlays", () => {
    test("compliant: an encrypted overlay in prod, and an unencrypted one labelled swarm-etl.data=false", async () => {
        expect(await checkResource(prod, TYPES.network, network())).toEqual({ violations: [] });
        expect(await checkResource(prod, TYPES.network, network({ encrypted: false, labels: { "swarm-etl.data": "false" } }))).toEqual({ violations: [] });
    });

    test("non-compliant: an unencrypted data overlay in prod", async () => {
        const { violations } = await checkResource(prod, TYPES.network, network({ encrypted: false }));
        expect(violations).toEqual([
            {
                message:
                    'overlay network "etl-data" is not encrypted: VXLAN carries its traffic between nodes in clear text (database sessions, ' +
                    "credentials, data sets), readable by anything on the hosts' network. Fix: set encrypted: true (swarm-etl:encryptOverlays " +
                    "true, the default outside the lab; ESP must pass between the nodes). A network that carries no data can be labelled " +
                    "swarm-etl.data=false. [profile prod, from fixed]",
            },
        ]);
    });

    test("the lab is exempt (its kernel cannot encrypt)", async () => {
        const lab = encryptedDataOverlays("mandatory", fixedProfile("lab")) as ResourceValidationPolicy;
        expect(await checkResource(lab, TYPES.network, network({ encrypted: false }))).toEqual({ violations: [], notApplicable: "the lab's kernel cannot encrypt overlay traffic (no ESP)" });
    });

    test("dev is checked too (its level comes from config/dev.json)", async () => {
        const dev = encryptedDataOverlays("advisory", fixedProfile("dev")) as ResourceValidationPolicy;
        expect((await checkResource(dev, TYPES.network, network({ encrypted: false }))).violations).toHaveLength(1);
    });

    test("unknown during preview: not a violation", async () => {
        expect(await checkResource(prod, TYPES.network, network({ encrypted: UNKNOWN.boolean }))).toEqual({ violations: [] });
        expect(await checkResource(prod, TYPES.network, network({ encrypted: false, labels: UNKNOWN.object }))).toEqual({ violations: [] });
    });
});
