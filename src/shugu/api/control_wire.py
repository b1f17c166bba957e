"""The control socket's wire format, shared by the server (api/control.py) and `shugu admin`.

One request per connection: a JSON object on one line, ``{"command": NAME, "args": {...}}``,
at most ``MAX_REQUEST_BYTES``. One answer on one line: ``{"ok": true, "result": {...}}`` or
``{"ok": false, "code": CODE, "message": MESSAGE}``, at most ``MAX_ANSWER_BYTES``.

Each command's arguments are validated with the schema the matching HTTP route uses (commands
that name an object in the route's path carry it as one more field), on both sides: the admin
command refuses bad input before sending it, the server refuses what does not validate.
"""

from __future__ import annotations

from typing import Any

import orjson
from pydantic import BaseModel, Field
from pydantic import ValidationError as PydanticError

from shugu.api.registry_schemas import AssetIn, DeviceIn, EnterpriseIn, ParkIn, RegionIn, UserIn
from shugu.domain.errors import ShuguError, ValidationError

MAX_REQUEST_BYTES = 64 * 1024
MAX_ANSWER_BYTES = 1024 * 1024
#: How long either side waits for the other's line.
IO_TIMEOUT_S = 30.0


class CreateAsset(AssetIn):
    enterprise_id: int


class CreateDevice(DeviceIn):
    enterprise_id: int


class RotateDeviceToken(BaseModel):
    device_id: int


class CreateToken(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    name: str = Field(default="script", min_length=1, max_length=200)
    ttl_seconds: int | None = Field(default=None, gt=0, le=10 * 366 * 86_400)


class ApiTokenOut(BaseModel):
    #: Shown this once; shugu keeps only its hash.
    token: str


#: Command name → the schema of its arguments.
SCHEMAS: dict[str, type[BaseModel]] = {
    "create-region": RegionIn,
    "create-park": ParkIn,
    "create-enterprise": EnterpriseIn,
    "create-asset": CreateAsset,
    "create-device": CreateDevice,
    "rotate-device-token": RotateDeviceToken,
    "create-user": UserIn,
    "create-token": CreateToken,
}


def validate_args(command: str, args: object) -> BaseModel:
    """The command's arguments as its schema, or a ValidationError naming what is wrong."""
    schema = SCHEMAS.get(command)
    if schema is None:
        known = ", ".join(sorted(SCHEMAS))
        raise ValidationError(
            f"unknown command {command!r}; known commands: {known}", code="unknown_command"
        )
    try:
        return schema.model_validate(args)
    except PydanticError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'arguments'}: {err['msg']}"
            for err in exc.errors()
        )
        raise ValidationError(f"{command}: {problems}", code="invalid_arguments") from None


def encode_request(command: str, args: BaseModel) -> bytes:
    try:
        body = orjson.dumps({"command": command, "args": args.model_dump(mode="json")})
    except orjson.JSONEncodeError as exc:
        # A lone surrogate from a command line that was not valid UTF-8, say.
        raise ValidationError(
            f"{command}: the arguments are not text that can be sent ({exc})",
            code="invalid_arguments",
        ) from None
    line = body + b"\n"
    if len(line) > MAX_REQUEST_BYTES:
        raise ValidationError(
            f"the request is {len(line)} bytes; the control socket takes at most "
            f"{MAX_REQUEST_BYTES}",
            code="request_too_large",
        )
    return line


def decode_request(line: bytes) -> tuple[str, BaseModel]:
    try:
        doc = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise ValidationError(f"the request is not JSON: {exc}", code="malformed_request") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("command"), str):
        raise ValidationError(
            'a request is {"command": NAME, "args": {...}}', code="malformed_request"
        )
    return doc["command"], validate_args(doc["command"], doc.get("args", {}))


def encode_answer(result: BaseModel) -> bytes:
    return orjson.dumps({"ok": True, "result": result.model_dump(mode="json")}) + b"\n"


def encode_refusal(code: str, message: str) -> bytes:
    return orjson.dumps({"ok": False, "code": code, "message": message}) + b"\n"


def decode_answer(line: bytes) -> dict[str, Any]:
    """The result of a successful answer; a refusal is raised as the server's error."""
    try:
        doc = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise ValidationError(
            f"the server's answer is not JSON: {exc}", code="malformed_answer"
        ) from None
    if not isinstance(doc, dict):
        raise ValidationError("the server's answer is not an object", code="malformed_answer")
    if doc.get("ok") is True and isinstance(doc.get("result"), dict):
        result: dict[str, Any] = doc["result"]
        return result
    raise ShuguError(
        str(doc.get("message", "the server refused the command")),
        code=str(doc.get("code", "refused")),
    )
