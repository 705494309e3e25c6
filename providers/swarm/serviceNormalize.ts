// Canonical forms shared by the two directions of the Service spec: the inputs (serviceSpec.ts)
// and what is read back from the daemon (serviceRead.ts) go through the same normalization, so
// they compare equal when they mean the same.
import { nonEmptyMap, stripUndefined } from "./common";
import type { MountSpec } from "./serviceSpec";
import { normalizeBytes } from "./serviceUnits";

/** A zero duration is the same as none. */
export const zeroless = (d: string | undefined) => (d === "0s" ? undefined : d);

/** A mount in its canonical form (used for inputs and for what is read back alike). */
export function normalizeMount(m: MountSpec): MountSpec {
    const volume = m.volume && stripUndefined({ ...m.volume, noCopy: m.volume.noCopy || undefined, labels: nonEmptyMap(m.volume.labels), driverOptions: nonEmptyMap(m.volume.driverOptions) });
    const tmpfs = m.tmpfs && stripUndefined({ size: normalizeBytes(m.tmpfs.size) || undefined, mode: m.tmpfs.mode || undefined });
    return stripUndefined({
        type: m.type,
        source: m.source || undefined,
        target: m.target,
        readOnly: !!m.readOnly,
        volume: volume && Object.keys(volume).length ? volume : undefined,
        bind: m.bind?.propagation ? { propagation: m.bind.propagation } : undefined,
        tmpfs: tmpfs && Object.keys(tmpfs).length ? tmpfs : undefined,
    }) as MountSpec;
}
