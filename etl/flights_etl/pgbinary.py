"""Arrow record batches -> PostgreSQL's binary COPY format, vectorized with numpy.

Binary COPY spares the server the text parsing of every timestamp and number (it is several
times cheaper than CSV for a wide fact table), and building it column by column in numpy keeps
the client side far below the server's cost. Format (PostgreSQL docs, "COPY ... Binary Format"):
a header, then per row an int16 field count and per field an int32 length (-1 = NULL) followed
by the value in the type's binary send format (big-endian), then an int16 -1 trailer.
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

HEADER = b"PGCOPY\n\xff\r\n\x00" + (0).to_bytes(4, "big") + (0).to_bytes(4, "big")
TRAILER = (-1).to_bytes(2, "big", signed=True)

# Microseconds / days between the Unix epoch and PostgreSQL's epoch (2000-01-01).
_PG_EPOCH_US = 946_684_800_000_000
_PG_EPOCH_DAYS = 10_957


class UnsupportedType(TypeError):
    pass


def _fixed(col: pa.Array) -> np.ndarray:
    """The values of a fixed-width column as big-endian bytes, an (n, width) uint8 array. Read
    straight from the Arrow buffers: the bytes under a NULL are whatever they are (never sent)."""
    t, n, off = col.type, len(col), col.offset
    if pa.types.is_boolean(t):
        bits = np.unpackbits(np.frombuffer(col.buffers()[1], np.uint8), bitorder="little")[off:off + n]
        return bits.astype(np.uint8).reshape(n, 1)
    if pa.types.is_timestamp(t) and t.unit != "us":
        col = pc.cast(col, pa.timestamp("us", t.tz))
        off = col.offset
    kinds = [(pa.types.is_int16, "<i2", ">i2", 0), (pa.types.is_int32, "<i4", ">i4", 0),
             (pa.types.is_int64, "<i8", ">i8", 0), (pa.types.is_float64, "<f8", ">f8", 0),
             (pa.types.is_timestamp, "<i8", ">i8", _PG_EPOCH_US), (pa.types.is_date32, "<i4", ">i4", _PG_EPOCH_DAYS)]
    for is_kind, little, big, shift in kinds:
        if is_kind(t):
            v = np.frombuffer(col.buffers()[1], little, count=n, offset=off * np.dtype(little).itemsize)
            if shift:
                v = v - shift
            return np.ascontiguousarray(v.astype(big)).view(np.uint8).reshape(n, -1)
    raise UnsupportedType(f"no binary COPY encoding for Arrow type {t}")


def _be4(values: np.ndarray) -> np.ndarray:
    return values.astype(">i4").view(np.uint8).reshape(-1, 4)


def encode(batch: pa.RecordBatch, jsonb: frozenset[str] = frozenset()) -> bytes:
    """The rows of `batch` in binary COPY format (no header or trailer). Columns named in `jsonb`
    are strings sent as jsonb (version byte 1 + text).

    Every field gets a fixed slot in an (n, width) byte matrix, as if it were never NULL and
    every string had its column's longest length; a mask marks the bytes a row really has, and
    `matrix[mask]` (row-major) is the COPY stream. All of it is whole-column numpy work."""
    n = batch.num_rows
    if n == 0:
        return b""
    plan, width = [], 2
    for name, col in zip(batch.schema.names, batch.columns):
        valid = (np.unpackbits(np.frombuffer(col.buffers()[0], np.uint8), bitorder="little")[col.offset:col.offset + n]
                 .astype(bool) if col.null_count else None)
        if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
            wide = pa.types.is_large_string(col.type)
            offsets = np.frombuffer(col.buffers()[1], np.int64 if wide else np.int32, count=n + 1,
                                    offset=col.offset * (8 if wide else 4)).astype(np.int64)
            data = np.frombuffer(col.buffers()[2], np.uint8) if col.buffers()[2] is not None else np.zeros(0, np.uint8)
            lens = offsets[1:] - offsets[:-1]
            if valid is not None:
                lens = np.where(valid, lens, 0)
            prefix = 1 if name in jsonb else 0
            longest = int(lens.max()) if n else 0
            plan.append(("text", width, valid, (offsets[:-1], data, lens, prefix, longest)))
            width += 4 + prefix + longest
        else:
            values = _fixed(col)
            plan.append(("fixed", width, valid, values))
            width += 4 + values.shape[1]
    matrix = np.zeros((n, width), np.uint8)
    keep = np.ones((n, width), bool)
    matrix[:, 0:2] = np.frombuffer(len(plan).to_bytes(2, "big"), np.uint8)
    for kind, at, valid, payload in plan:
        if kind == "fixed":
            w = payload.shape[1]
            matrix[:, at + 4:at + 4 + w] = payload
            if valid is None:
                matrix[:, at:at + 4] = np.frombuffer(w.to_bytes(4, "big"), np.uint8)
            else:
                matrix[:, at:at + 4] = _be4(np.where(valid, w, -1))
                keep[~valid, at + 4:at + 4 + w] = False
        else:
            starts, data, lens, prefix, longest = payload
            length = lens + prefix if valid is None else np.where(valid, lens + prefix, -1)
            matrix[:, at:at + 4] = _be4(length)
            body = at + 4 + prefix
            if prefix:
                matrix[:, at + 4] = 1
                if valid is not None:
                    keep[~valid, at + 4] = False
            if longest:
                has = np.arange(longest)[None, :] < lens[:, None]          # (n, longest)
                src = starts[:, None] + np.arange(longest)[None, :]
                region = matrix[:, body:body + longest]
                region[has] = data[src[has]]
                keep[:, body:body + longest] = has
    return matrix[keep].tobytes()
