"""Read the records of an offline W&B run (``run-*.wandb``): W&B's LevelDB-style log of protobuf
``Record`` messages, so tests can check what a sync would upload."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from pathlib import Path

from wandb.proto import wandb_internal_pb2 as pb

BLOCK = 32768  # the log's block size; a record never starts in a block's last 6 bytes
HEADER = 7  # b":W&B", a 2-byte magic, a version byte; then each chunk: crc32, length, type


def records(path: Path) -> Iterator[pb.Record]:
    data = path.read_bytes()
    assert data[:4] == b":W&B", f"{path} is not a W&B transaction log"
    pos, pending = HEADER, b""
    while pos + HEADER <= len(data):
        if BLOCK - pos % BLOCK < HEADER:
            pos += BLOCK - pos % BLOCK
            continue
        _, length, kind = struct.unpack("<IHB", data[pos : pos + HEADER])
        chunk = data[pos + HEADER : pos + HEADER + length]
        pos += HEADER + length
        if kind in (1, 2):  # full, first
            pending = chunk
        else:  # middle, last
            pending += chunk
        if kind in (1, 4):
            record = pb.Record()
            record.ParseFromString(pending)
            yield record


def history(path: Path) -> list[dict[str, str]]:
    """Each ``run.log`` row as {key: JSON value}."""
    rows = []
    for record in records(path):
        if record.WhichOneof("record_type") == "history":
            rows.append(
                {i.key or "/".join(i.nested_key): i.value_json for i in record.history.item}
            )
    return rows


def metrics(path: Path) -> list[pb.MetricRecord]:
    """The ``define_metric`` declarations."""
    return [r.metric for r in records(path) if r.WhichOneof("record_type") == "metric"]
