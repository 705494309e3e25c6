// Every rule of the pack, with its default enforcement level. Per-stack levels live in
// config/<stack>.json (passed with --policy-pack-config); docs/policy.md has the table.
import type { EnforcementLevel } from "@pulumi/policy";
import type { RuleFactory } from "../lib/rule";
import { capabilitiesScoped } from "./capabilitiesScoped";
import { dockerSocketScoped } from "./dockerSocketScoped";
import { encryptedDataOverlays } from "./encryptedDataOverlays";
import { hostPathsReadOnly } from "./hostPathsReadOnly";
import { imagePinned } from "./imagePinned";
import { managersOdd } from "./managersOdd";
import { noPublishedDatabasePorts } from "./noPublishedDatabasePorts";
import { noSecretsInEnv } from "./noSecretsInEnv";
import { prodAutolock } from "./prodAutolock";
import { prodManagersDrained } from "./prodManagersDrained";
import { prodStatelessReplicas } from "./prodStatelessReplicas";
import { prodThreeManagers } from "./prodThreeManagers";
import { serviceHealthcheck } from "./serviceHealthcheck";
import { serviceResourceLimits } from "./serviceResourceLimits";
import { serviceRestartPolicy } from "./serviceRestartPolicy";
import { sshHostKeyPinned } from "./sshHostKeyPinned";
import { statefulPinnedWithVolume } from "./statefulPinnedWithVolume";
import { uiBehindAuthProxy } from "./uiBehindAuthProxy";

/**
 * Defaults, used when no config file is passed: what protects the cluster and its data is
 * mandatory; what keeps services running well is advisory (config/prod.json makes it mandatory).
 */
export const RULES: readonly { factory: RuleFactory; level: EnforcementLevel }[] = [
    { factory: managersOdd, level: "mandatory" },
    { factory: prodThreeManagers, level: "mandatory" },
    { factory: prodManagersDrained, level: "mandatory" },
    { factory: prodAutolock, level: "mandatory" },
    { factory: sshHostKeyPinned, level: "mandatory" },
    { factory: noPublishedDatabasePorts, level: "mandatory" },
    { factory: uiBehindAuthProxy, level: "mandatory" },
    { factory: encryptedDataOverlays, level: "mandatory" },
    { factory: noSecretsInEnv, level: "mandatory" },
    { factory: imagePinned, level: "mandatory" },
    { factory: serviceHealthcheck, level: "advisory" },
    { factory: serviceResourceLimits, level: "advisory" },
    { factory: serviceRestartPolicy, level: "advisory" },
    { factory: prodStatelessReplicas, level: "advisory" },
    { factory: statefulPinnedWithVolume, level: "mandatory" },
    { factory: dockerSocketScoped, level: "mandatory" },
    { factory: capabilitiesScoped, level: "mandatory" },
    { factory: hostPathsReadOnly, level: "mandatory" },
];

/** The policies with their default levels. */
export const policies = () => RULES.map((r) => r.factory(r.level));
