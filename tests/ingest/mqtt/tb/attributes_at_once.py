"""With ThingsBoard's device SDK, report client attributes and ask for them back at once.

Runs inside the `.venv-tb` virtualenv. Each round sends ``{"counter": n}`` with
``send_attributes`` and, without waiting for its PUBACK, asks for ``counter`` with
``request_attributes``, as an application using the SDK may. Prints
``{"step": "rounds", "answers": [...]}``: the counter each answer carried (or null).

    python attributes_at_once.py HOST PORT TOKEN ROUNDS
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
from typing import Any

from tb_device_mqtt import TBDeviceMqttClient

WAIT_S = 10.0


def main(host: str, port: int, token: str, rounds: int) -> int:
    logging.basicConfig(level=logging.ERROR, stream=sys.stderr)
    client = TBDeviceMqttClient(host, port=port, username=token, client_id="tb-sdk-at-once")
    client.connect(timeout=10)
    try:
        deadline = time.monotonic() + WAIT_S
        while not client.is_connected():
            if time.monotonic() > deadline:
                print(json.dumps({"step": "error", "error": "not connected"}), flush=True)
                return 1
            time.sleep(0.05)
        answers: list[Any] = []
        for n in range(1, rounds + 1):
            got = threading.Event()
            box: list[dict[str, Any]] = []

            def on_attributes(
                content: dict[str, Any],
                error: object,
                box: list[dict[str, Any]] = box,
                got: threading.Event = got,
            ) -> None:
                box.append(content)
                got.set()

            client.send_attributes({"counter": n})
            client.request_attributes(client_keys=["counter"], callback=on_attributes)
            got.wait(WAIT_S)
            answers.append(box[0].get("client", {}).get("counter") if box else None)
        print(json.dumps({"step": "rounds", "answers": answers}), flush=True)
        return 0
    finally:
        client.stop()
        client.disconnect()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])))
