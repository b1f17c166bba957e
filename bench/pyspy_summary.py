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

#: (label, function names as py-spy prints them); the innermost matching frame wins.
CATEGORIES: list[tuple[str, tuple[str, ...]]] = [
    ("CONNECT: device token lookup in the registry", ("ThingsBoardApp.authenticate",)),
    ("validate: per-profile range tables", ("_profile_tables",)),
    ("validate: timestamps, finiteness, the rest", ("check", "_Refuser.__call__", "to_batch")),
    ("hand-off to the writer thread and the wait", ("IngestDoor.store",)),
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
        ),
    ),
    (
        "ThingsBoard topic dispatch, ingest door glue",
        (
            "ThingsBoardApp._on_publish",
            "ThingsBoardApp.on_publish",
            "IngestDoor.ingest",
            "IngestDoor._ingest_together",
        ),
    ),
    ("socket writes (CONNACK, PUBACK)", ("MqttConnection.write",)),
    (
        "MQTT framing and parsing, a task per publish, ordered acks",
        ("MqttConnection.data_received", "MqttConnection._acknowledge"),
    ),
]
LOOP = "event loop itself (uvloop I/O, scheduling, other)"


def _function(frame: str) -> str:
    return frame.split(" (", 1)[0]


def _thread(frames: list[str]) -> str:
    names = [_function(f) for f in frames]
    if names and names[0] == "_run_module_as_main":
        return "event loop"
    if "DuckDBTelemetryStore._write_loop" in names:
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
            name = _function(frame)
            label = next((lbl for lbl, names in CATEGORIES if name in names), None)
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
