import type { ResourceValidationPolicy } from "@pulumi/policy";
import { TYPES } from "../../../lib/types";
import { UNKNOWN } from "../../../lib/values";
import { imagePinned, unpinned } from "../../../rules/imagePinned";
import { service } from "../fixtures";
import { checkResource } from "../harness";

const rule = imagePinned("mandatory") as ResourceValidationPolicy;
const DIGEST = "sha256:" + "a".repeat(64);

describe("image-pinned", () => {
    test("compliant: a version tag, a digest, a registry with a port", async () => {
        expect(await checkResource(rule, TYPES.service, service())).toEqual({ violations: [] });
        expect(await checkResource(rule, TYPES.service, service({ image: `registry.prod.example.com/etl/api@${DIGEST}` }))).toEqual({ violations: [] });
        expect(await checkResource(rule, TYPES.service, service({ image: "198.18.20.2:5000/lab/busybox:1.35" }))).toEqual({ violations: [] });
    });

    test("non-compliant: latest", async () => {
        const { violations } = await checkResource(rule, TYPES.service, service({ image: "198.18.20.2:5000/lab/busybox:latest" }));
        expect(violations).toEqual([
            {
                message:
                    'service "etl-api" runs "198.18.20.2:5000/lab/busybox:latest", which uses the tag latest: a moving tag runs whatever was pushed ' +
                    "last, so nodes that pull at different times run different code, a rollback does not bring the old code back, and the preview " +
                    "cannot show what will change. Fix: use a version tag (198.18.20.2:5000/lab/busybox:<version>) or a digest (198.18.20.2:5000/lab/busybox@sha256:<digest>).",
            },
        ]);
    });

    test("non-compliant: no tag (the registry's port is not a tag), a malformed digest", () => {
        expect(unpinned("198.18.20.2:5000/lab/busybox")).toBe("has no tag (Docker reads it as latest)");
        expect(unpinned("busybox")).toBe("has no tag (Docker reads it as latest)");
        expect(unpinned("busybox@sha256:abc")).toBe('has a malformed digest "sha256:abc"');
        expect(unpinned(`busybox:latest@${DIGEST}`)).toBeUndefined();
    });

    test("unknown during preview: not a violation", async () => {
        expect(await checkResource(rule, TYPES.service, service({ image: UNKNOWN.string }))).toEqual({ violations: [] });
    });
});
