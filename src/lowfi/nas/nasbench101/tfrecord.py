"""Read (and write) the official NAS-Bench-101 data file without TensorFlow.

File layout, as published with NAS-Bench-101:

- **TFRecord framing**: each record is ``uint64 length`` (little endian),
  ``uint32 masked_crc32c(length bytes)``, ``length`` data bytes, ``uint32 masked_crc32c(data)``;
  the mask is ``((crc >> 15) | (crc << 17)) + 0xa282ead8`` modulo 2**32 over CRC-32C
  (Castagnoli polynomial, reflected ``0x82F63B78``).
- **Rows**: each record's data is a UTF-8 JSON list
  ``[module_hash, epochs, adjacency, operations, metrics]``: the adjacency as a string of
  ``V * V`` digits, the operations comma separated, and ``metrics`` the base64 of a
  ``nasbench.ModelMetrics`` protocol buffer: field 1 repeated ``EvaluationData`` (initial,
  halfway and final evaluation), field 2 ``int32 trainable_parameters``, field 3
  ``double total_time``; ``EvaluationData`` holds doubles 1 ``current_epoch``,
  2 ``training_time``, 3 ``train_accuracy``, 4 ``validation_accuracy``,
  5 ``test_accuracy`` and string 6 ``checkpoint_path``. One record is one repeat of one
  module at one epoch budget.

Protocol buffers are decoded by hand from the wire format (varints, 64-bit, length-delimited
and 32-bit fields). :func:`parse_example` decodes the generic ``tf.train.Example`` too.
"""

from __future__ import annotations

import base64
import json
import os
import struct
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

_POLY = 0x82F63B78
_MASK_DELTA = 0xA282EAD8


def _make_table() -> np.ndarray:
    table = np.zeros(256, dtype=np.uint32)
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ _POLY if c & 1 else c >> 1
        table[i] = c
    return table


_TABLE = _make_table()
_TABLE_LIST = [int(x) for x in _TABLE]


def crc32c(data: bytes) -> int:
    """CRC-32C (Castagnoli) of ``data``."""
    crc = 0xFFFFFFFF
    t = _TABLE_LIST
    for b in data:
        crc = t[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def crc32c_batch(items: list[bytes]) -> np.ndarray:
    """CRC-32C of many byte strings at once (vectorized across the strings)."""
    if not items:
        return np.zeros(0, dtype=np.uint32)
    lengths = np.array([len(b) for b in items])
    width = int(lengths.max())
    buf = np.zeros((len(items), width), dtype=np.uint8)
    for i, b in enumerate(items):
        buf[i, : len(b)] = np.frombuffer(b, dtype=np.uint8)
    crc = np.full(len(items), 0xFFFFFFFF, dtype=np.uint32)
    for j in range(width):
        new = _TABLE[(crc ^ buf[:, j]) & 0xFF] ^ (crc >> np.uint32(8))
        crc = np.where(j < lengths, new, crc)
    return crc ^ np.uint32(0xFFFFFFFF)


def mask(crc: int | np.ndarray) -> int | np.ndarray:
    """TFRecord's masking of a CRC."""
    if isinstance(crc, np.ndarray):
        c = crc.astype(np.uint64)
        return (((c >> 15) | (c << 17)) + _MASK_DELTA).astype(np.uint64) & 0xFFFFFFFF
    return (((crc >> 15) | (crc << 17)) + _MASK_DELTA) & 0xFFFFFFFF


def write_records(path: str | os.PathLike, records: Iterable[bytes]) -> int:
    """Write ``records`` as a TFRecord file; return how many were written."""
    n = 0
    with open(path, "wb") as f:
        for data in records:
            header = struct.pack("<Q", len(data))
            f.write(header)
            f.write(struct.pack("<I", mask(crc32c(header))))
            f.write(data)
            f.write(struct.pack("<I", mask(crc32c(data))))
            n += 1
    return n


def read_records(
    path: str | os.PathLike, verify: bool = True, batch: int = 20_000
) -> Iterator[bytes]:
    """Yield the data of each record of a TFRecord file.

    Parameters
    ----------
    path
        The file.
    verify
        Check both CRCs of every record (vectorized over ``batch`` records at a time).

    Raises
    ------
    ValueError
        On a truncated file or a CRC mismatch, naming the record index.
    """
    index = 0
    with open(path, "rb") as f:
        while True:
            headers: list[bytes] = []
            hcrc: list[int] = []
            datas: list[bytes] = []
            dcrc: list[int] = []
            for _ in range(batch):
                head = f.read(12)
                if not head:
                    break
                if len(head) < 12:
                    raise ValueError(f"path: {path} is truncated in the header of record {index + len(datas)}")
                (length,) = struct.unpack("<Q", head[:8])
                body = f.read(length + 4)
                if len(body) < length + 4:
                    raise ValueError(f"path: {path} is truncated in record {index + len(datas)}")
                headers.append(head[:8])
                hcrc.append(struct.unpack("<I", head[8:])[0])
                datas.append(body[:length])
                dcrc.append(struct.unpack("<I", body[length:])[0])
            if not datas:
                return
            if verify:
                bad_h = np.flatnonzero(mask(crc32c_batch(headers)) != np.array(hcrc, dtype=np.uint64))
                bad_d = np.flatnonzero(mask(crc32c_batch(datas)) != np.array(dcrc, dtype=np.uint64))
                if len(bad_h) or len(bad_d):
                    i = int(min([*bad_h, *bad_d]))
                    raise ValueError(f"path: {path}: CRC mismatch in record {index + i}")
            yield from datas
            index += len(datas)


# ---------------------------------------------------------------------------- protobuf wire format
def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise ValueError("protobuf: truncated varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7


def iter_fields(buf: bytes) -> Iterator[tuple[int, int, Any]]:
    """Yield ``(field_number, wire_type, value)`` of a serialized message.

    Values: int for varints, 8 raw bytes for 64-bit, bytes for length-delimited, 4 raw bytes for
    32-bit fields.
    """
    pos = 0
    n = len(buf)
    while pos < n:
        key, pos = _varint(buf, pos)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 1:
            value, pos = buf[pos : pos + 8], pos + 8
        elif wire == 2:
            length, pos = _varint(buf, pos)
            value, pos = buf[pos : pos + length], pos + length
        elif wire == 5:
            value, pos = buf[pos : pos + 4], pos + 4
        else:
            raise ValueError(f"protobuf: unsupported wire type {wire} for field {field}")
        if pos > n:
            raise ValueError(f"protobuf: truncated field {field}")
        yield field, wire, value


def _key(field: int, wire: int) -> bytes:
    return _enc_varint((field << 3) | wire)


def _enc_varint(v: int) -> bytes:
    if v < 0:
        v += 1 << 64
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _len_field(field: int, payload: bytes) -> bytes:
    return _key(field, 2) + _enc_varint(len(payload)) + payload


_EVAL_FIELDS = {1: "current_epoch", 2: "training_time", 3: "train_accuracy",
                4: "validation_accuracy", 5: "test_accuracy"}


def decode_model_metrics(buf: bytes) -> dict[str, Any]:
    """Decode a serialized ``nasbench.ModelMetrics``."""
    out: dict[str, Any] = {"evaluation_data": [], "trainable_parameters": 0, "total_time": 0.0}
    for field, wire, value in iter_fields(buf):
        if field == 1 and wire == 2:
            ev: dict[str, Any] = {}
            for f2, w2, v2 in iter_fields(value):
                if f2 in _EVAL_FIELDS and w2 == 1:
                    ev[_EVAL_FIELDS[f2]] = struct.unpack("<d", v2)[0]
                elif f2 == 6 and w2 == 2:
                    ev["checkpoint_path"] = v2.decode("utf-8")
            out["evaluation_data"].append(ev)
        elif field == 2 and wire == 0:
            v = value - (1 << 64) if value >= 1 << 63 else value
            out["trainable_parameters"] = int(v)
        elif field == 3 and wire == 1:
            out["total_time"] = struct.unpack("<d", value)[0]
    return out


def encode_model_metrics(metrics: dict[str, Any]) -> bytes:
    """Serialize a ``nasbench.ModelMetrics`` (the inverse of :func:`decode_model_metrics`)."""
    out = bytearray()
    for ev in metrics.get("evaluation_data", []):
        body = bytearray()
        for num, name in _EVAL_FIELDS.items():
            if name in ev:
                body += _key(num, 1) + struct.pack("<d", float(ev[name]))
        if ev.get("checkpoint_path"):
            body += _len_field(6, ev["checkpoint_path"].encode("utf-8"))
        out += _len_field(1, bytes(body))
    if "trainable_parameters" in metrics:
        out += _key(2, 0) + _enc_varint(int(metrics["trainable_parameters"]))
    if "total_time" in metrics:
        out += _key(3, 1) + struct.pack("<d", float(metrics["total_time"]))
    return bytes(out)


def parse_example(buf: bytes) -> dict[str, list]:
    """Decode a serialized ``tf.train.Example`` into ``{name: values}``.

    ``Example.features`` (1) -> ``Features.feature`` (1, map entries of key 1 / value 2) ->
    ``Feature`` with ``bytes_list`` (1), ``float_list`` (2, packed float32) or
    ``int64_list`` (3, packed varints).
    """
    out: dict[str, list] = {}
    for f, w, features in iter_fields(buf):
        if f != 1 or w != 2:
            continue
        for f2, w2, entry in iter_fields(features):
            if f2 != 1 or w2 != 2:
                continue
            name, feature = "", b""
            for f3, _w3, v3 in iter_fields(entry):
                if f3 == 1:
                    name = v3.decode("utf-8")
                elif f3 == 2:
                    feature = v3
            values: list = []
            for kind, wk, lst in iter_fields(feature):
                for f4, w4, v4 in iter_fields(lst):
                    if f4 != 1:
                        continue
                    if kind == 1:
                        values.append(bytes(v4))
                    elif kind == 2:
                        values.extend(
                            np.frombuffer(v4, dtype="<f4").tolist() if w4 == 2
                            else [struct.unpack("<f", v4)[0]]
                        )
                    elif kind == 3:
                        if w4 == 2:
                            p = 0
                            while p < len(v4):
                                v, p = _varint(v4, p)
                                values.append(v - (1 << 64) if v >= 1 << 63 else v)
                        else:
                            values.append(v4 - (1 << 64) if v4 >= 1 << 63 else v4)
                del wk
            out[name] = values
    return out


def encode_example(features: dict[str, list]) -> bytes:
    """Serialize ``{name: values}`` as a ``tf.train.Example`` (bytes, floats or ints per name)."""
    entries = bytearray()
    for name, values in features.items():
        values = list(values)
        if values and isinstance(values[0], (bytes, bytearray)):
            lst = b"".join(_len_field(1, bytes(v)) for v in values)
            feature = _len_field(1, lst)
        elif values and isinstance(values[0], float):
            packed = np.asarray(values, dtype="<f4").tobytes()
            feature = _len_field(2, _len_field(1, packed))
        else:
            packed = b"".join(_enc_varint(int(v)) for v in values)
            feature = _len_field(3, _len_field(1, packed))
        entry = _len_field(1, name.encode("utf-8")) + _len_field(2, feature)
        entries += _len_field(1, entry)
    return _len_field(1, bytes(entries))


# ---------------------------------------------------------------------------- NAS-Bench-101 rows
def parse_row(data: bytes) -> dict[str, Any]:
    """Decode one NAS-Bench-101 record into a dict.

    Returns
    -------
    dict
        ``module_hash, epochs, matrix (V x V int8), ops (list), trainable_parameters`` and
        ``final`` / ``halfway`` dicts of ``training_time, train_accuracy, validation_accuracy,
        test_accuracy``.
    """
    try:
        module_hash, epochs, raw_adj, raw_ops, raw_metrics = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, TypeError) as exc:
        raise ValueError(f"record: not a NAS-Bench-101 JSON row ({exc})") from exc
    dim = int(round(len(raw_adj) ** 0.5))
    if dim * dim != len(raw_adj):
        raise ValueError(f"record: adjacency string of length {len(raw_adj)} is not square")
    matrix = (np.frombuffer(raw_adj.encode("ascii"), dtype=np.uint8) - ord("0")).astype(np.int8)
    metrics = decode_model_metrics(base64.b64decode(raw_metrics))
    evs = metrics["evaluation_data"]
    keys = ("training_time", "train_accuracy", "validation_accuracy", "test_accuracy")
    final = evs[-1] if evs else {}
    halfway = evs[1] if len(evs) >= 3 else final
    return {
        "module_hash": module_hash,
        "epochs": int(epochs),
        "matrix": matrix.reshape(dim, dim),
        "ops": raw_ops.split(","),
        "trainable_parameters": metrics["trainable_parameters"],
        "final": {k: float(final.get(k, 0.0)) for k in keys},
        "halfway": {k: float(halfway.get(k, 0.0)) for k in keys},
    }


def make_row(
    module_hash: str, epochs: int, matrix: np.ndarray, ops: list[str], metrics: dict[str, Any]
) -> bytes:
    """Serialize one NAS-Bench-101 record (the inverse of :func:`parse_row`)."""
    adj = "".join(str(int(v)) for v in np.asarray(matrix).ravel())
    raw = base64.b64encode(encode_model_metrics(metrics)).decode("ascii")
    return json.dumps([module_hash, int(epochs), adj, ",".join(ops), raw]).encode("utf-8")


def read_nasbench(path: str | os.PathLike, verify: bool = True) -> Iterator[dict[str, Any]]:
    """Yield the parsed rows of an official NAS-Bench-101 ``.tfrecord`` file."""
    if not os.path.exists(path):
        raise ValueError(
            f"path: {path!s} does not exist; download nasbench_full.tfrecord (or "
            "nasbench_only108.tfrecord) from the NAS-Bench-101 project and pass its path"
        )
    for data in read_records(path, verify=verify):
        yield parse_row(data)
