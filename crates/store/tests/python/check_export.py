#!/usr/bin/env python3
"""Cross-checks `learnscope export` output with the Python tools researchers use.

Usage: check_export.py PARQUET TB_DIR RUN_DIR...

PARQUET and TB_DIR are what `learnscope export RUN_DIR... --parquet PARQUET --tensorboard TB_DIR`
wrote for exactly these run directories, in this order. TB_DIR `-` skips the TensorBoard part
(for a sweep's `sweep.parquet`, which `learnscope sweep aggregate` writes with the same schema,
the run column holding each run directory's name).

- reads each RUN_DIR/metrics.jsonl (the reference; "NaN"/"inf"/"-inf" mapped back to floats,
  an incomplete last line dropped as learnscope's reader does) and RUN_DIR/config.toml (tomllib);
- reads PARQUET with pandas (pyarrow dtypes) AND with polars: the metric columns, then `run`, then
  one string column per flattened config key (the union over the runs, sorted; a key equal to a
  fixed column gets the prefix `config.`); the row count is the sum of the runs' JSONL lines and
  every row equals its JSONL row (floats bit for bit, NaN equal to NaN); each config cell parses
  back (as a TOML value; strings are stored bare) to the run's config value, null where the run
  lacks the key;
- reads TB_DIR/<run name>/events.out.tfevents.* with TensorBoard's own EventFileLoader (which
  checks the TFRecord CRCs): the first event has file_version "brain.Event:2", then one event per
  step; the (step, tag, value) sequence equals the JSONL's, values compared as float32; every
  wall_time is the manifest's start time.

Exits 0 with one summary line, or 1 with a message naming the file, row and the mismatch.
Needs: numpy, pandas (>= 2), pyarrow, polars, tensorboard (Python >= 3.11 for tomllib).
"""

import json
import math
import struct
import sys
import tomllib
from datetime import datetime, timezone
from pathlib import Path

COLUMNS = ["step", "epoch", "probe", "key", "split", "layer", "index", "index2", "value"]
FIXED = COLUMNS + ["run"]
NON_FINITE = {"NaN": math.nan, "inf": math.inf, "-inf": -math.inf}


def fail(msg):
    print(f"check_export: FAIL: {msg}", file=sys.stderr)
    sys.exit(1)


def read_jsonl(path):
    """Rows of metrics.jsonl as tuples in COLUMNS order (an incomplete last line dropped)."""
    rows = []
    lines = path.read_bytes().split(b"\n")
    for i, raw in enumerate(lines):
        if raw == b"":
            continue
        try:
            obj = json.loads(raw)
        except ValueError:
            if i == len(lines) - 1:
                break  # half-written last line
            fail(f"{path}:{i + 1}: not JSON")
        v = obj["value"]
        obj["value"] = NON_FINITE[v] if isinstance(v, str) else float(v)
        rows.append(tuple(obj[c] for c in COLUMNS))
    return rows


def flatten(table, prefix=""):
    """config.toml as {dotted key: value}; arrays of tables stay one value."""
    out = {}
    for k, v in table.items():
        key = f"{prefix}.{k}" if prefix else k
        if isinstance(v, dict):
            out.update(flatten(v, key))
        else:
            out[key] = v
    return out


def column_name(key):
    return f"config.{key}" if key in FIXED else key


def same_float(a, b):
    if a is None or b is None:
        return a is None and b is None
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return struct.pack("<d", a) == struct.pack("<d", b)


def same_row(got, want):
    return all(
        same_float(g, w) if c == "value" else g == w for c, g, w in zip(COLUMNS, got, want)
    )


def cell_value(cell, want):
    """A config cell read back as the TOML value it renders (strings are stored bare)."""
    if isinstance(want, str):
        return cell
    return tomllib.loads(f"v = {cell}")["v"]


def tb_tag(row):
    step, epoch, probe, key, split, layer, index, index2, value = row
    parts = [probe, key] + [p for p in (split, layer) if p] + [str(i) for i in (index, index2) if i is not None]
    return "/".join(parts)


def tb_value(v):
    """The float of a summary value, whether the loader kept simple_value or migrated it."""
    from tensorboard.util import tensor_util

    kind = v.WhichOneof("value")
    if kind == "simple_value":
        return float(v.simple_value)
    if kind == "tensor":
        return float(tensor_util.make_ndarray(v.tensor).item())
    fail(f"tag {v.tag}: summary value of kind {kind}, expected a scalar")


def main(argv):
    if len(argv) < 4:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    import numpy as np
    import pandas as pd
    import polars as pl
    parquet, tb_dir = Path(argv[1]), (None if argv[2] == "-" else Path(argv[2]))
    if tb_dir is not None:
        from tensorboard.backend.event_processing.event_file_loader import EventFileLoader
    runs = []
    for d in map(Path, argv[3:]):
        name = d.resolve().name
        rows = read_jsonl(d / "metrics.jsonl")
        config = flatten(tomllib.loads((d / "config.toml").read_text()))
        manifest = json.loads((d / "manifest.json").read_text())
        runs.append((name, d, rows, config, manifest))
    expected_rows = [(name, row) for name, _, rows, _, _ in runs for row in rows]
    keys = sorted({k for *_, config, _ in runs for k in config})
    expected_columns = FIXED + [column_name(k) for k in keys]

    # Parquet, through pandas (pyarrow) and polars.
    pdf = pd.read_parquet(parquet, dtype_backend="pyarrow")
    plf = pl.read_parquet(parquet)
    for lib, columns, n in [
        ("pandas", list(pdf.columns), len(pdf)),
        ("polars", plf.columns, plf.height),
    ]:
        if columns != expected_columns:
            missing = sorted(set(expected_columns) - set(columns))
            extra = sorted(set(columns) - set(expected_columns))
            fail(f"{parquet} ({lib}): columns differ; missing {missing}, unexpected {extra}")
        if n != len(expected_rows):
            fail(f"{parquet} ({lib}): {n} rows, the runs' metrics.jsonl have {len(expected_rows)}")
    pd_rows = pdf.astype(object).where(pdf.notna(), None).itertuples(index=False, name=None)
    pl_rows = plf.iter_rows()
    config_index = {k: len(FIXED) + i for i, k in enumerate(keys)}
    by_name = {name: config for name, _, _, config, _ in runs}
    for i, (a, b, (name, want)) in enumerate(zip(pd_rows, pl_rows, expected_rows)):
        for lib, got in (("pandas", a), ("polars", b)):
            metric = tuple(None if x is pd.NA else x for x in got[: len(COLUMNS)])
            if not same_row(metric, want):
                fail(f"{parquet} ({lib}) row {i}: {metric} != metrics.jsonl {want}")
            if got[len(COLUMNS)] != name:
                fail(f"{parquet} ({lib}) row {i}: run {got[len(COLUMNS)]!r}, expected {name!r}")
            config = by_name[name]
            for k, j in config_index.items():
                cell = got[j]
                if k not in config:
                    if cell is not None:
                        fail(f"{parquet} ({lib}) row {i}: {column_name(k)} = {cell!r}, run {name} has no such key")
                    continue
                if cell is None or cell_value(cell, config[k]) != config[k]:
                    fail(f"{parquet} ({lib}) row {i}: {column_name(k)} = {cell!r}, config.toml of {name} says {config[k]!r}")

    # TensorBoard, through its own reader.
    events_checked = 0
    for name, d, rows, _, manifest in runs if tb_dir is not None else []:
        files = sorted((tb_dir / name).glob("events.out.tfevents.*"))
        if len(files) != 1:
            fail(f"{tb_dir / name}: {len(files)} event files, expected 1")
        start = datetime.strptime(manifest["created_utc"], "%Y-%m-%dT%H:%M:%SZ")
        wall = float(int(start.replace(tzinfo=timezone.utc).timestamp()))
        events = list(EventFileLoader(str(files[0])).Load())
        if not events or events[0].file_version != "brain.Event:2":
            fail(f"{files[0]}: first event is not file_version brain.Event:2")
        got = []
        steps = []
        for e in events:
            if e.wall_time != wall:
                fail(f"{files[0]}: wall_time {e.wall_time}, manifest start is {wall}")
        for e in events[1:]:
            steps.append(e.step)
            got.extend((e.step, v.tag, tb_value(v)) for v in e.summary.value)
        want_steps = sorted({r[0] for r in rows})
        if steps != want_steps:
            fail(f"{files[0]}: steps {steps[:10]}..., metrics.jsonl has {want_steps[:10]}...")
        if len(got) != len(rows):
            fail(f"{files[0]}: {len(got)} scalars, metrics.jsonl of {name} has {len(rows)} rows")
        for i, ((step, tag, value), row) in enumerate(zip(got, rows)):
            want = float(np.float32(row[-1]))
            if step != row[0] or tag != tb_tag(row) or not same_float(value, want):
                fail(f"{files[0]} scalar {i}: ({step}, {tag}, {value}) != ({row[0]}, {tb_tag(row)}, {want}) from metrics.jsonl")
        events_checked += len(events)

    tb = (
        f"; {events_checked} TensorBoard events in {len(runs)} files agree with metrics.jsonl"
        if tb_dir is not None
        else ""
    )
    print(
        f"check_export: OK: {parquet.name}: {len(expected_rows)} rows from {len(runs)} runs and "
        f"{len(keys)} config columns agree in pandas and polars{tb}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
