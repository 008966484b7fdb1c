"""The Explore sandbox's child process: an in-memory DuckDB over Arrow copies; cells in, Arrow out.

The parent starts this file with `python -I` (no portal on the path, an empty environment, cwd /)
and talks to it over stdin/stdout in frames: an 8-byte length, then JSON or an Arrow IPC stream.
Limits that DuckDB cannot keep for itself are kept here and by the parent:
- memory: RLIMIT_DATA, set once the copies are loaded. DuckDB's memory_limit covers only its
  buffer manager, and a function such as list_resize allocates its result outside it;
- time: DuckDB sees an interrupt only between chunks, so one long function call ignores it;
  the parent kills this process when the reply is late;
- result size: batches of BATCH_ROWS rows, stopped once they pass the byte cap.
Nothing here imports the portal: the process holds only the two secret-free copies.
"""

from __future__ import annotations

import datetime as dt
import json
import resource
import struct
import sys
import threading
from typing import Any, BinaryIO

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

BATCH_ROWS = 128  # the byte cap is checked after each batch of this many rows
# DuckDB types (by id) that reach the table as they are; the others become text or DOUBLE.
KEEP = frozenset(
    ("boolean", "tinyint", "smallint", "integer", "bigint", "float", "double", "varchar")
    + ("utinyint", "usmallint", "uinteger", "ubigint")
    + ("timestamp", "timestamp_s", "timestamp_ms", "timestamp_ns", "timestamp with time zone")
)
# Sent as DuckDB's text, then as this type when every value fits (sum() gives HUGEINT).
NARROW = {"hugeint": pa.int64(), "uhugeint": pa.int64(), "bignum": pa.int64(), "date": pa.date32()}
# Paths a cell could read back through duckdb_settings() or error messages, made meaningless;
# no spilling to disk, no extension loading; then file access off and the configuration locked.
SETTINGS = (
    "SET TimeZone = 'UTC'",
    "SET python_enable_replacements = false",
    "SET temp_directory = ''",
    "SET home_directory = '/nonexistent'",
    "SET secret_directory = ''",
    "SET extension_directory = '/nonexistent'",
    "SET allowed_directories = []",
    "SET autoload_known_extensions = false",
    "SET autoinstall_known_extensions = false",
)
LOCK = ("SET enable_external_access = false", "SET lock_configuration = true")


class TooLarge(Exception):
    """The result passed the byte cap."""


def read_frame(stream: BinaryIO) -> bytes | None:
    head = stream.read(8)
    if len(head) < 8:
        return None  # the parent is gone
    (size,) = struct.unpack(">Q", head)
    return stream.read(size)


def write_frame(stream: BinaryIO, payload: bytes) -> None:
    stream.write(struct.pack(">Q", len(payload)))
    stream.write(payload)


def connect(config: dict[str, Any], stdin: BinaryIO) -> duckdb.DuckDBPyConnection:
    """The sandbox database: settings, portal_now(), the copies read from stdin, then locked."""
    conn = duckdb.connect(":memory:")
    for statement in SETTINGS:
        conn.execute(statement)
    conn.execute(f"SET threads = {int(config['threads'])}")
    conn.execute(f"SET memory_limit = '{int(config['memory_limit'])}B'")
    stamp = str(config["now"]).replace("'", "")
    conn.execute(f"CREATE MACRO portal_now() AS TIMESTAMPTZ '{stamp}'")
    for name in config["tables"]:
        conn.register(str(name), pa.ipc.open_stream(stdin).read_all())
    for statement in LOCK:
        conn.execute(statement)
    return conn


def cap_memory(extra: int) -> None:
    """From now on this process may allocate `extra` bytes beyond what it holds (the copies)."""
    with open("/proc/self/status") as status:
        line = next(x for x in status if x.startswith("VmData:"))
    limit = int(line.split()[1]) * 1024 + extra
    resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def shown_column(position: int, type_id: str) -> str:
    """A projection that keeps a column the table can show, or turns it into DuckDB's text."""
    if type_id in KEEP:
        return f"#{position}"
    if type_id == "decimal":
        return f"CAST(#{position} AS DOUBLE)"
    return f"CAST(#{position} AS VARCHAR)"


def decode_params(typed: dict[str, list[Any]] | None) -> dict[str, Any] | None:
    """The parent's [type, value] pairs as Python values DuckDB binds with their types."""
    if typed is None:
        return None
    out: dict[str, Any] = {}
    for name, (kind, value) in typed.items():
        if kind == "date":
            out[name] = dt.date.fromisoformat(value)
        elif kind == "datetime":
            out[name] = dt.datetime.fromisoformat(value)
        elif kind == "float":
            out[name] = float(value)
        elif kind == "int":
            out[name] = int(value)
        else:  # str, bool, None: JSON keeps them as they are
            out[name] = value
    return out


def fetch(
    conn: duckdb.DuckDBPyConnection,
    sql: str,
    max_rows: int,
    max_bytes: int,
    params: dict[str, Any] | None = None,
) -> tuple[pa.Table, bool]:
    """The first max_rows rows, in types the table can show, and whether there were more."""
    # Values go to DuckDB as bound parameters: they never become part of the SQL text.
    cell = conn.sql(sql) if params is None else conn.sql(sql, params=params)
    type_ids = [str(t.id) for t in cell.types]
    shown = cell.project(", ".join(shown_column(i, t) for i, t in enumerate(type_ids, 1)))
    reader = shown.to_arrow_reader(BATCH_ROWS)
    batches, rows, size = [], 0, 0
    try:
        for batch in reader:
            batches.append(batch)
            rows, size = rows + batch.num_rows, size + batch.nbytes
            if size > max_bytes:
                raise TooLarge
            if rows > max_rows:
                break
    finally:
        reader.close()
    table = pa.Table.from_batches(batches, schema=reader.schema).slice(0, max_rows)
    return narrow(table.rename_columns(cell.columns), type_ids), rows > max_rows


def narrow(table: pa.Table, type_ids: list[str]) -> pa.Table:
    """Columns sent as text for safety become numbers or dates again when every value fits."""
    for i, type_id in enumerate(type_ids):
        if type_id in NARROW:
            try:
                column = pc.cast(table.column(i), NARROW[type_id])
            except (pa.ArrowInvalid, OverflowError):
                continue  # e.g. a HUGEINT beyond BIGINT or the date 'infinity': keep the text
            table = table.set_column(i, table.field(i).with_type(column.type), column)
    return table


def run(conn: duckdb.DuckDBPyConnection, request: dict[str, Any]) -> tuple[dict[str, Any], bytes]:
    """One cell in its own transaction, always rolled back; the reply's JSON and Arrow bytes."""
    try:
        params = decode_params(request.get("params"))
    except (ValueError, TypeError, KeyError) as exc:
        return {"error": f"A parameter could not be read: {exc}"}, b""
    # The parent kills this process if this interrupt is not seen in time.
    timer = threading.Timer(float(request["time_limit"]), conn.interrupt)
    timer.start()
    try:
        conn.execute("BEGIN")
        try:
            table, truncated = fetch(
                conn, request["sql"], int(request["max_rows"]), int(request["max_bytes"]), params
            )
        finally:
            conn.execute("ROLLBACK")
    except TooLarge:
        return {"stop": "size"}, b""
    except duckdb.InterruptException:
        return {"stop": "time"}, b""
    except (duckdb.OutOfMemoryException, MemoryError, pa.ArrowMemoryError):
        return {"stop": "memory"}, b""
    except duckdb.Error as exc:
        return {"error": str(exc)}, b""
    finally:
        timer.cancel()
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return {"truncated": truncated}, sink.getvalue().to_pybytes()


def main() -> None:
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    config = json.loads(read_frame(stdin) or b"{}")
    conn = connect(config, stdin)
    cap_memory(int(config["memory_cap"]))
    write_frame(stdout, b'{"ready": true}')
    stdout.flush()
    while (frame := read_frame(stdin)) is not None:
        try:
            meta, data = run(conn, json.loads(frame))
        except MemoryError:
            meta, data = {"stop": "memory"}, b""
        write_frame(stdout, json.dumps(meta).encode())
        write_frame(stdout, data)
        stdout.flush()


if __name__ == "__main__":
    main()
