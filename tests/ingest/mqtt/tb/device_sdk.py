"""Drive ThingsBoard's device SDK (`tb-mqtt-client`) against an MQTT endpoint.

Runs inside the `.venv-tb` virtualenv, never in the project's own: the SDK ships its own `paho`
package. Prints one JSON object a line on stdout, for the test to read:
``{"step": "telemetry", ...}``, ``{"step": "attributes", ...}``, then ``{"step": "ready"}``
once it waits for a server-side RPC, and ``{"step": "rpc", ...}`` after answering one.

    python device_sdk.py HOST PORT TOKEN
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
from typing import Any

from tb_device_mqtt import TBDeviceMqttClient, TBPublishInfo

WAIT_S = 15.0


def emit(**fields: Any) -> None:
    print(json.dumps(fields), flush=True)


def acknowledged(info: TBPublishInfo) -> bool:
    """Whether every MQTT message behind the SDK's publish got its PUBACK. (The SDK's own
    ``get()`` waits one second at most and reports only whether the message was queued.)"""
    messages = info.message_info if isinstance(info.message_info, list) else [info.message_info]
    for message in messages:
        message.wait_for_publish(timeout=WAIT_S)
    return all(m.is_published() for m in messages)


def main(host: str, port: int, token: str) -> int:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    client = TBDeviceMqttClient(host, port=port, username=token, client_id="tb-sdk-conformance")
    rpc_done = threading.Event()

    def on_rpc(request_id: str, body: dict[str, Any]) -> None:
        answer = {"handled": body.get("method"), "params": body.get("params"), "by": "tb-sdk"}
        client.send_rpc_reply(request_id, answer, wait_for_publish=True)
        emit(step="rpc", request_id=request_id, request=body, answer=answer)
        rpc_done.set()

    client.set_server_side_rpc_request_handler(on_rpc)
    client.connect(timeout=10)
    try:
        deadline = time.monotonic() + WAIT_S
        while not client.is_connected():
            if time.monotonic() > deadline:
                emit(step="error", error="not connected")
                return 1
            time.sleep(0.05)

        ts = int(time.time() * 1000) - 2000
        info = client.send_telemetry({"ts": ts, "values": {"speed_rpm": 642.0, "power_kw": 4.25}})
        rc = info.get()
        plain = client.send_telemetry({"running": True, "picks": 1234})
        plain_rc = plain.get()
        emit(
            step="telemetry",
            ts=ts,
            rc=rc,
            success=rc == TBPublishInfo.TB_ERR_SUCCESS,
            acknowledged=acknowledged(info),
            plain_rc=plain_rc,
            plain_acknowledged=acknowledged(plain),
        )

        sent = client.send_attributes({"firmware": "2.7.1", "serial": "TB-0042", "slots": 12})
        sent_rc = sent.get()
        sent_acknowledged = acknowledged(sent)
        answers: list[dict[str, Any]] = []
        got = threading.Event()

        def on_attributes(content: dict[str, Any], error: object) -> None:
            answers.append({"content": content, "error": None if error is None else str(error)})
            got.set()

        client.request_attributes(client_keys=["firmware", "serial"], callback=on_attributes)
        emit(
            step="attributes",
            sent_rc=sent_rc,
            sent_acknowledged=sent_acknowledged,
            answered=got.wait(WAIT_S),
            answers=answers,
        )

        emit(step="ready")
        if not rpc_done.wait(WAIT_S):
            emit(step="error", error="no server-side RPC request arrived")
            return 1
        time.sleep(0.2)  # let the reply's PUBACK arrive before disconnecting
        return 0
    finally:
        client.stop()
        client.disconnect()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], int(sys.argv[2]), sys.argv[3]))
