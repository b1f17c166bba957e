"""Sum up a py-spy profile of ``shugu serve`` (``py-spy record -f raw``: folded stacks).

Prints the samples of each thread (the event loop, the store's writer, the compactor, others),
then the event-loop thread's samples by where they were spent: each sample is charged to the
innermost frame that belongs to one of ``CATEGORIES``, and to the loop itself when none does.

    python -m bench.pyspy_summary PROFILE.txt [--top 30]
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

#: (label, functions): a function is ``Class.method`` (as older py-spy prints it) or
#: ``file:function`` (py-spy 0.4 prints the function and its file, no class), where the file is
#: the end of the path py-spy prints. The innermost matching frame wins.
CATEGORIES: list[tuple[str, tuple[str, ...]]] = [
    (
        "CONNECT: device token lookup in the registry",
        ("ThingsBoardApp.authenticate", "mqtt/tb_app.py:authenticate"),
    ),
    ("validate: per-profile range tables", ("_profile_tables", "validation.py:_profile_tables")),
    (
        "validate: timestamps, finiteness, the rest",
        ("check", "_Refuser.__call__", "to_batch", "validation.py:check", "validation.py:to_batch"),
    ),
    ("hand-off to the writer thread and the wait", ("IngestDoor.store", "ingest/door.py:store")),
    (
        "JSON payload → columns",
        (
            "parse_json",
            "TelemetryDecoder.decode",
            "DeviceJson.decode",
            "DeviceJson.decode_document",
            "Decoders.__call__",
            "add_refusals",
            "as_arrays",
            "ListColumns.arrays",
            "ingest/thingsboard.py:parse_json",
            "ingest/thingsboard.py:decode",
            "ingest/codecs.py:decode",
            "ingest/codecs.py:decode_document",
            "ingest/codecs.py:__call__",
            "ingest/codecs.py:add_refusals",
            "ingest/columns.py:as_arrays",
            "ingest/columns.py:arrays",
        ),
    ),
    (
        "ThingsBoard topic dispatch, ingest door glue",
        (
            "ThingsBoardApp._on_publish",
            "ThingsBoardApp.on_publish",
            "IngestDoor.ingest",
            "IngestDoor._ingest_together",
            "mqtt/tb_app.py:on_publish",
            "mqtt/tb_app.py:_on_publish",
            "mqtt/tb_app.py:_telemetry_outcome",
            "mqtt/tb_app.py:settle",
            "ingest/door.py:ingest",
            "ingest/door.py:_ingest_together",
            "ingest/coalesce.py:ingest",
            "ingest/coalesce.py:_run",
        ),
    ),
    ("socket writes (CONNACK, PUBACK)", ("MqttConnection.write", "mqtt/connection.py:write")),
    (
        "MQTT framing and parsing, ordered acks",
        (
            "MqttConnection.data_received",
            "MqttConnection._acknowledge",
            "mqtt/connection.py:data_received",
            "mqtt/connection.py:_settled",
            "mqtt/connection.py:_acknowledge_due",
            "mqtt/connection.py:_acknowledge",
        ),
    ),
]
LOOP = "event loop itself (uvloop I/O, scheduling, other)"


def _function(frame: str) -> str:
    return frame.split(" (", 1)[0]


def _in_file(frame: str) -> str:
    """``file:function`` of a frame printed as ``function (path/file.py:line)``."""
    name, _, where = frame.partition(" (")
    return f"{where.rsplit(':', 1)[0]}:{name}"


def _category(frame: str) -> str | None:
    name, qualified = _function(frame), _in_file(frame)
    for label, names in CATEGORIES:
        if name in names or any(":" in n and qualified.endswith(n) for n in names):
            return label
    return None


def _thread(frames: list[str]) -> str:
    names = [_function(f) for f in frames]
    if names and names[0] == "_run_module_as_main":
        return "event loop"
    if any(n.endswith("_write_loop") for n in names):
        return "store writer"
    if any("compact" in n.lower() for n in names):
        return "compactor"
    return "other"


def summarize(path: Path, top: int = 30) -> str:
    threads: Counter[str] = Counter()
    charged: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    loop_total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = stack.split(";")
        thread = _thread(frames)
        threads[thread] += n
        if thread != "event loop":
            continue
        loop_total += n
        for name in {_function(f) for f in frames}:
            inclusive[name] += n
        for frame in reversed(frames):
            label = _category(frame)
            if label is not None:
                charged[label] += n
                break
        else:
            charged[LOOP] += n
    out = ["samples per thread (200 Hz: 200 samples = one busy second)"]
    out += [f"  {v:7d}  {k}" for k, v in threads.most_common()]
    if loop_total:
        out.append(f"event-loop thread, {loop_total} samples, by where they were spent")
        out += [f"  {v / loop_total:6.1%}  {k}" for k, v in charged.most_common()]
        out.append(f"event-loop thread, top {top} functions (inclusive, below the loop's run)")
        below = [(k, v) for k, v in inclusive.most_common() if v < loop_total]
        out += [f"  {v / loop_total:6.1%}  {k}" for k, v in below[:top]]
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("profile", type=Path)
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args()
    print(summarize(args.profile, args.top))


if __name__ == "__main__":
    main()
