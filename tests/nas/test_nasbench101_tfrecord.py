"""The TensorFlow-free reader, on a file this test writes by hand in the official format."""

import base64
import json
import struct

import numpy as np
import pytest

from lowfi.nas import ModelSpec, NASBench101Table
from lowfi.nas.nasbench101 import tfrecord as tfr


def _crc32c_bitwise(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
    return crc ^ 0xFFFFFFFF


def _masked(crc):
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def _double(field, x):
    return bytes([(field << 3) | 1]) + struct.pack("<d", x)


def _ld(field, payload):  # length-delimited, payloads < 128 bytes here
    assert len(payload) < 128
    return bytes([(field << 3) | 2, len(payload)]) + payload


def _metrics_bytes(params, evals):
    """ModelMetrics written byte by byte (not with the module's encoder)."""
    out = b""
    for epoch, t, tr, va, te in evals:
        out += _ld(1, _double(1, epoch) + _double(2, t) + _double(3, tr) + _double(4, va)
                   + _double(5, te))
    v = params
    varint = b""
    while True:
        b, v = v & 0x7F, v >> 7
        varint += bytes([b | (0x80 if v else 0)])
        if not v:
            break
    return out + bytes([(2 << 3) | 0]) + varint + _double(3, 123.0)


def _write(path, rows):
    with open(path, "wb") as f:
        for row in rows:
            data = json.dumps(row).encode()
            head = struct.pack("<Q", len(data))
            f.write(head + struct.pack("<I", _masked(_crc32c_bitwise(head))))
            f.write(data + struct.pack("<I", _masked(_crc32c_bitwise(data))))


CELLS = [
    ([[0, 1, 0], [0, 0, 1], [0, 0, 0]], "input,conv3x3-bn-relu,output", 5000),
    ([[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 0]],
     "input,conv1x1-bn-relu,maxpool3x3,output", 7000),
]


@pytest.fixture
def nb_file(tmp_path):
    rows = []
    for k, (m, ops, params) in enumerate(CELLS):
        for epochs in (4, 108):
            for rep in range(3):
                va = 0.5 + 0.1 * k + epochs / 1000 + rep / 100
                evals = [(0.0, 0.0, 0.1, 0.1, 0.1),
                         (epochs / 2, 10.0 * epochs / 2, 0.4, va - 0.05, va - 0.06),
                         (float(epochs), 10.0 * epochs + rep, 0.9, va, va - 0.01)]
                raw = base64.b64encode(_metrics_bytes(params, evals)).decode()
                adj = "".join(str(x) for r in m for x in r)
                rows.append([f"hash{k}", epochs, adj, ops, raw])
    path = tmp_path / "mini.tfrecord"
    _write(path, rows)
    return path, rows


def test_crc32c_known_value_and_batch():
    assert tfr.crc32c(b"123456789") == 0xE3069283
    items = [b"", b"a", b"123456789", bytes(range(200))]
    assert tfr.crc32c_batch(items).tolist() == [_crc32c_bitwise(b) for b in items]


def test_reader_framing_and_rows(nb_file):
    path, rows = nb_file
    records = list(tfr.read_records(path))
    assert [json.loads(r) for r in records] == rows
    parsed = list(tfr.read_nasbench(path))
    assert len(parsed) == 12
    r = parsed[3]
    assert r["module_hash"] == "hash0" and r["epochs"] == 108
    assert r["matrix"].tolist() == CELLS[0][0] and r["trainable_parameters"] == 5000
    assert r["final"]["validation_accuracy"] == pytest.approx(0.5 + 0.108)
    assert r["final"]["training_time"] == pytest.approx(1080.0)
    assert r["halfway"]["validation_accuracy"] == pytest.approx(0.5 + 0.108 - 0.05)


def test_reader_detects_corruption(nb_file, tmp_path):
    path, _ = nb_file
    data = bytearray(path.read_bytes())
    data[40] ^= 0xFF
    bad = tmp_path / "bad.tfrecord"
    bad.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="CRC mismatch in record 0"):
        list(tfr.read_records(bad))
    bad.write_bytes(path.read_bytes()[:-3])
    with pytest.raises(ValueError, match="truncated"):
        list(tfr.read_records(bad))
    with pytest.raises(ValueError, match="does not exist"):
        list(tfr.read_nasbench(tmp_path / "absent.tfrecord"))


def test_writer_and_protobuf_round_trip(tmp_path):
    metrics = {"evaluation_data": [{"current_epoch": 0.0, "validation_accuracy": 0.1},
                                   {"current_epoch": 2.0, "validation_accuracy": 0.5,
                                    "checkpoint_path": "x/model.ckpt-1"}],
               "trainable_parameters": 300, "total_time": 1.5}
    assert tfr.decode_model_metrics(tfr.encode_model_metrics(metrics)) == {
        **metrics, "evaluation_data": [metrics["evaluation_data"][0],
                                       metrics["evaluation_data"][1]]}
    ex = {"label": [3, -1, 70000], "image": [b"\x00\x01"], "w": [0.5, 2.0]}
    assert tfr.parse_example(tfr.encode_example(ex)) == ex
    # hand-written Example: features{feature{key:"y" value{int64_list{value:[5]}}}}
    feature = _ld(3, _ld(1, bytes([5])))
    entry = _ld(1, b"y") + _ld(2, feature)
    assert tfr.parse_example(_ld(1, _ld(1, entry))) == {"y": [5]}
    p = tmp_path / "w.tfrecord"
    assert tfr.write_records(p, [b"abc", b""]) == 2
    assert list(tfr.read_records(p)) == [b"abc", b""]


def test_table_from_tfrecord(nb_file):
    path, _ = nb_file
    table = NASBench101Table.from_tfrecord(path, seed=0)
    assert len(table) == 2 and table.epochs == (4, 108) and table.has_halfway
    spec = ModelSpec(np.array(CELLS[1][0]), CELLS[1][1].split(","))
    r = table.query(spec, 108)
    assert r["trainable_parameters"] == 7000
    assert np.isclose(r["validation_accuracy"], [0.708, 0.718, 0.728]).any()
    h = table.query(spec, 108, stop_halfway=True)
    assert h["training_time"] == pytest.approx(540.0)
    assert table.total_epochs_spent == 108 + 54
    assert table.y_star_valid == pytest.approx(1 - 0.718)
    seen = {round(table.query(spec, 4)["validation_accuracy"], 3) for _ in range(40)}
    assert seen == {0.604, 0.614, 0.624}  # every repeat gets drawn
