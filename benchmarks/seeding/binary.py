"""PostgreSQL's binary COPY format: a row's fields, packed for a whole layout at once."""

import struct

import numpy as np

from .constants import PG_EPOCH

# -- PostgreSQL's binary COPY format, a layout at a time -------------------------------------------

def _text(value: str) -> bytes:
    data = value.encode()
    return struct.pack(">i", len(data)) + data


NULL = struct.pack(">i", -1)
_SIZES = {"i8": (">i8", 8), "i4": (">i4", 4), "i2": (">i2", 2), "bool": ("u1", 1),
          "ts": (">i8", 8), "date": (">i4", 4)}


class Layout:
    """The fixed-width part of a row: constants (NULLs, texts that are the same for every row
    of the layout) and typed values, packed for all rows at once by a numpy structured array.
    ``fields`` are (kind, column, value): kind is a type of _SIZES (value: the array's key),
    "null", "text" (value: the constant) or "raw" (value: the field's bytes, length included).
    ``extra`` columns follow the fixed part in every row (variable texts from the pools)."""

    def __init__(self, fields, extra: int = 0):
        self.columns = [column for _kind, column, _value in fields]
        parts, consts, self.values = [], [], []
        pending = struct.pack(">h", len(fields) + extra)
        for kind, column, value in fields:
            if kind == "null":
                pending += NULL
            elif kind == "text":
                pending += _text(value)
            elif kind == "raw":
                pending += value
            else:
                dtype, size = _SIZES[kind]
                pending += struct.pack(">i", size)
                name = f"c{len(parts)}"
                parts.append((name, f"S{len(pending)}"))
                consts.append((name, pending))
                pending = b""
                parts.append((column, dtype))
                self.values.append((column, kind, value))
        if pending:
            name = f"c{len(parts)}"
            parts.append((name, f"S{len(pending)}"))
            consts.append((name, pending))
        self.dtype = np.dtype(parts)
        self.consts = consts

    def pack(self, arrays: dict, idx: np.ndarray) -> np.ndarray:
        out = np.empty(len(idx), dtype=self.dtype)
        for name, value in self.consts:
            out[name] = value
        for column, kind, key in self.values:
            values = arrays[key][idx]
            if kind == "ts":
                values = (values - PG_EPOCH) * 1_000_000
            elif kind == "date":
                values = values - PG_EPOCH // 86400
            out[column] = values
        return out


def _rows(packed: np.ndarray) -> list[bytes]:
    return np.frombuffer(packed.tobytes(), dtype=f"V{packed.dtype.itemsize}").tolist()



def _bool(value: bool) -> bytes:
    return struct.pack(">i?", 1, value)


def _int(value: int, size: int) -> bytes:
    return struct.pack(">i", size) + value.to_bytes(size, "big", signed=True)


def _jsonb(value: str) -> bytes:
    data = b"\x01" + value.encode()
    return struct.pack(">i", len(data)) + data
