#!/usr/bin/env python3
"""Cross-checks a learnscope run directory with the Python data stack.

Usage: check_run_dir.py RUN_DIR

- reads RUN_DIR/metrics.jsonl with the json module (mapping "NaN", "inf", "-inf" back to
  floats; bare NaN/Infinity tokens are rejected, since learnscope never writes them), tolerating
  an incomplete last line exactly as learnscope's reader does;
- reads RUN_DIR/metrics.parquet with pandas (pyarrow dtypes, so NaN stays distinct from null and
  64-bit integers stay exact) AND with polars, checks the column names and types, and checks that
  both agree with the JSONL row for row (floats bit for bit, any NaN equal to any NaN);
- reads every RUN_DIR/checkpoints/step-*.safetensors with safetensors.numpy, checking names,
  shapes, dtypes and bytes against the file's own header, and parses its state.json.

Meant for a finished run: metrics.parquet is rebuilt from metrics.jsonl at each checkpoint and
at the end, so mid-run (or after a crash) it may lag behind the JSONL and the check fails.

Exits 0 with one summary line, or 1 with a message naming the file, row/tensor and the mismatch.
Needs: numpy, pandas (>= 2), pyarrow, polars, safetensors.
"""

import json
import math
import struct
import sys
from pathlib import Path

COLUMNS = ["step", "epoch", "probe", "key", "split", "layer", "index", "index2", "value"]
NON_FINITE = {"NaN": math.nan, "inf": math.inf, "-inf": -math.inf}
# Polars and pandas (pyarrow backend) type names of the long table's columns.
POLARS_TYPES = ["UInt64", "UInt32", "String", "String", "String", "String", "Int64", "Int64", "Float64"]
PANDAS_TYPES = [
    "uint64[pyarrow]", "uint32[pyarrow]", "string[pyarrow]", "string[pyarrow]", "string[pyarrow]",
    "string[pyarrow]", "int64[pyarrow]", "int64[pyarrow]", "double[pyarrow]",
]
# safetensors dtype -> numpy dtype name (BF16 and F8 have no numpy dtype and are checked from the
# header only).
NUMPY_DTYPES = {
    "BOOL": "bool", "U8": "uint8", "I8": "int8", "U16": "uint16", "I16": "int16",
    "F16": "float16", "U32": "uint32", "I32": "int32", "F32": "float32",
    "U64": "uint64", "I64": "int64", "F64": "float64",
}


class Mismatch(Exception):
    pass


def fail(msg):
    print(f"check_run_dir: FAIL: {msg}", file=sys.stderr)
    sys.exit(1)


def reject_constant(token):
    raise ValueError(f"bare {token} is not learnscope's encoding (expected \"NaN\"/\"inf\"/\"-inf\")")


def read_jsonl(path):
    """Rows of metrics.jsonl as tuples in COLUMNS order, and whether a partial tail was dropped."""
    data = path.read_bytes()
    lines = data.split(b"\n")
    rows, truncated = [], False
    offset = 0
    for i, raw in enumerate(lines):
        last = i == len(lines) - 1
        if last and raw == b"":
            break
        try:
            obj = json.loads(raw, parse_constant=reject_constant)
            if list(obj.keys()) != COLUMNS:
                raise ValueError(f"fields {list(obj.keys())}, expected {COLUMNS} in this order")
            v = obj["value"]
            if isinstance(v, str):
                if v not in NON_FINITE:
                    raise ValueError(f"value string {v!r} is not one of NaN, inf, -inf")
                v = NON_FINITE[v]
            elif isinstance(v, bool) or not isinstance(v, (int, float)):
                raise ValueError(f"value {v!r} is not a number")
            obj["value"] = float(v)
        except ValueError as e:  # json.JSONDecodeError is a ValueError
            if last:  # an incomplete last line: a crash mid-write
                truncated = True
                break
            fail(f"{path}: line {i + 1} (byte offset {offset}): {e}")
        rows.append(tuple(obj[c] for c in COLUMNS))
        offset += len(raw) + 1
    return rows, truncated


def float_bits(x):
    return struct.pack("<d", x)


def same_cell(a, b):
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, float) or isinstance(b, float):
        if not (isinstance(a, float) and isinstance(b, float)):
            return False
        return (math.isnan(a) and math.isnan(b)) or float_bits(a) == float_bits(b)
    return type(a) is type(b) and a == b


def compare(reader, path, rows, want):
    if len(rows) != len(want):
        raise Mismatch(f"{path} via {reader}: {len(rows)} rows, metrics.jsonl has {len(want)}")
    for i, (got, exp) in enumerate(zip(rows, want)):
        for col, g, e in zip(COLUMNS, got, exp):
            if not same_cell(g, e):
                raise Mismatch(
                    f"{path} via {reader}: row {i} column `{col}`: parquet has {g!r}, "
                    f"metrics.jsonl has {e!r}"
                )


def check_parquet(path, want):
    import pandas as pd
    import polars as pl

    # polars
    df = pl.read_parquet(path)
    if df.columns != COLUMNS:
        raise Mismatch(f"{path} via polars: columns {df.columns}, expected {COLUMNS}")
    types = [str(t) for t in df.dtypes]
    if types != POLARS_TYPES:
        raise Mismatch(f"{path} via polars: types {types}, expected {POLARS_TYPES}")
    compare("polars", path, [tuple(r) for r in df.rows()], want)

    # pandas, pyarrow-backed: NaN and null stay distinct, int64 with nulls stays exact.
    pdf = pd.read_parquet(path, dtype_backend="pyarrow")
    if list(pdf.columns) != COLUMNS:
        raise Mismatch(f"{path} via pandas: columns {list(pdf.columns)}, expected {COLUMNS}")
    types = [str(t) for t in pdf.dtypes]
    if types != PANDAS_TYPES:
        raise Mismatch(f"{path} via pandas: types {types}, expected {PANDAS_TYPES}")
    cols = [[None if v is pd.NA or v is None else v for v in pdf[c].tolist()] for c in COLUMNS]
    compare("pandas", path, list(zip(*cols)), want)

    # pandas with default dtypes (what most notebooks use): the value column is plain float64.
    plain = pd.read_parquet(path)
    values = [float(v) for v in plain["value"].tolist()]
    for i, (v, e) in enumerate(zip(values, (r[-1] for r in want))):
        if not same_cell(v, e):
            raise Mismatch(f"{path} via pandas (numpy dtypes): row {i} value {v!r}, expected {e!r}")


def read_header(path):
    data = path.read_bytes()
    if len(data) < 8:
        raise Mismatch(f"{path}: {len(data)} bytes, shorter than the 8-byte header length")
    (n,) = struct.unpack("<Q", data[:8])
    if n > len(data) - 8:
        raise Mismatch(f"{path}: header length {n} exceeds file size {len(data)} - 8")
    header = json.loads(data[8 : 8 + n])
    return header, data[8 + n :]


def check_checkpoint(path):
    from safetensors import safe_open
    from safetensors.numpy import load_file

    header, data = read_header(path)
    header.pop("__metadata__", None)
    numpy_ok = {k: v for k, v in header.items() if v["dtype"] in NUMPY_DTYPES}
    if len(numpy_ok) == len(header):
        arrays = load_file(str(path))
    else:  # load_file refuses the whole file when one dtype has no numpy equivalent
        with safe_open(str(path), framework="numpy") as f:
            arrays = {k: f.get_tensor(k) for k in numpy_ok}
    if set(arrays) != set(numpy_ok):
        raise Mismatch(f"{path}: safetensors.numpy read {sorted(arrays)}, header lists {sorted(numpy_ok)}")
    for name, info in numpy_ok.items():
        a = arrays[name]
        if list(a.shape) != info["shape"]:
            raise Mismatch(f"{path}: tensor `{name}`: shape {list(a.shape)}, header says {info['shape']}")
        want = NUMPY_DTYPES[info["dtype"]]
        if a.dtype.name != want:
            raise Mismatch(f"{path}: tensor `{name}`: numpy dtype {a.dtype.name}, header says {info['dtype']} ({want})")
        begin, end = info["data_offsets"]
        if a.astype(a.dtype.newbyteorder("<")).tobytes() != data[begin:end]:
            raise Mismatch(f"{path}: tensor `{name}`: bytes read by safetensors.numpy differ from the file")
    state = path.with_name(path.name[: -len(".safetensors")] + ".state.json")
    if state.exists():
        json.loads(state.read_text())
    return len(header), len(header) - len(numpy_ok)


def main(argv):
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    run = Path(argv[1])
    if not run.is_dir():
        fail(f"{run} is not a directory")
    try:
        import numpy  # noqa: F401
        import pandas  # noqa: F401
        import polars  # noqa: F401
        import pyarrow  # noqa: F401
        import safetensors  # noqa: F401
    except ImportError as e:
        fail(f"{e}; install with: pip install numpy pandas pyarrow polars safetensors")

    def checked(path, f, *args):
        try:
            return f(*args)
        except Mismatch:
            raise
        except Exception as e:  # a reader raising means the file is bad, not this script
            raise Mismatch(f"{path}: {type(e).__name__}: {e}") from e

    try:
        jsonl = run / "metrics.jsonl"
        want, truncated = checked(jsonl, read_jsonl, jsonl)
        parquet = run / "metrics.parquet"
        checked(parquet, check_parquet, parquet, want)
        ckpts = sorted((run / "checkpoints").glob("step-*.safetensors"))
        tensors = skipped = 0
        for ck in ckpts:
            n, s = checked(ck, check_checkpoint, ck)
            tensors += n
            skipped += s
    except Mismatch as e:
        fail(str(e))

    note = " (metrics.jsonl ends in a partial line, ignored)" if truncated else ""
    skip = f", {skipped} without a numpy dtype checked from the header only" if skipped else ""
    print(
        f"check_run_dir: OK: {run}: {len(want)} metric rows agree (json, pandas, polars){note}; "
        f"{len(ckpts)} checkpoint(s), {tensors} tensor(s){skip}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
