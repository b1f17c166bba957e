"""The notification channels page: channels listed (secrets masked) and edited with errors beside
their fields in the user's language, the escalation policy, and "send a test notice", which goes
through the real notifier to a real receiver on loopback and reports the delivery or its failure.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, cast

import pytest
from fastapi import FastAPI

from shugu.api.services import Services
from tests.api.conftest import World
from tests.resolver import TableResolver
from tests.web.conftest import csrf_headers, sign_in
from tests.web.receivers import Mailbox, Receiver, free_port, running_mailbox, running_receiver

PAGE = "/e/{ent}/notifications"


@pytest.fixture
def world_settings() -> dict[str, Any]:
    # The receivers listen on loopback: notices may go there only because this allows it.
    return {"notify_allow_networks": ("127.0.0.1/32",)}


@pytest.fixture
def world_resolver() -> TableResolver:
    return TableResolver({"oapi.dingtalk.com": [["106.11.23.5"]]})


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as server:
        yield server


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    with running_mailbox() as box:
        yield box


def page_of(w: World) -> str:
    return PAGE.format(ent=w.ent_a)


def stored(w: World) -> list[dict[str, Any]]:
    return [r.body for r in w.registry.list_configs("channel", [w.ent_a])]


def policy_of(w: World) -> dict[str, Any] | None:
    records = w.registry.list_configs("escalation", [w.ent_a])
    return records[0].body if records else None


def add(w: World, token: str, fields: dict[str, str]) -> Any:
    return w.client.post(
        f"{page_of(w)}/channels", data={"csrf_token": token, **fields}, follow_redirects=False
    )


def send_test(w: World, token: str, name: str) -> Any:
    """Press "send a test notice" (as htmx does)."""
    return w.client.post(f"{page_of(w)}/channels/{name}/test", headers=csrf_headers(token))


def field_error(html: str, field: str) -> str:
    found = re.search(rf'<p class="field-error"[^>]*data-field="{field}">(.*?)</p>', html, re.S)
    assert found, f"no error beside {field}"
    return found.group(1)


def test_a_webhook_added_on_the_page_gets_a_test_notice(world: World, receiver: Receiver) -> None:
    token = sign_in(world.client, "admin_a")
    fields = {
        "kind": "webhook",
        "name": "值班系统",
        "lang": "zh",
        "url": receiver.url("/hook"),
        "headers": "X-Webhook-Token: s3cret",
    }
    assert add(world, token, fields).status_code == 303
    page = world.client.get(page_of(world))
    assert page.status_code == 200 and 'data-channel="值班系统"' in page.text
    answer = send_test(world, token, "值班系统")
    assert answer.status_code == 200, answer.text
    assert 'data-delivered="true"' in answer.text and "测试通知已送达" in answer.text
    [got] = receiver.at("/hook")
    assert got.headers["X-Webhook-Token"] == "s3cret"
    body = got.body
    assert body["event"] == "test" and body["alarm_id"] == 0
    assert body["enterprise"] == "甲纺织" and body["lang"] == "zh"
    assert "测试" in body["rule"]


def test_a_signed_dingtalk_robot_gets_the_test_and_its_secret_is_never_shown(
    world: World, receiver: Receiver
) -> None:
    token = sign_in(world.client, "admin_a")
    url = receiver.url("/robot/send?access_token=tok123")
    fields = {
        "kind": "dingtalk",
        "name": "ding",
        "url": url,
        "secret": "SECabcdef",
        "at_mobiles": "13800000000, 13900000000",
    }
    assert add(world, token, fields).status_code == 303
    page = world.client.get(page_of(world)).text
    assert "SECabcdef" not in page and "已设置：留空则保持不变" in page
    assert "/robot/send?…" in page  # the robot's token is cut from the list
    assert send_test(world, token, "ding").status_code == 200
    [got] = receiver.at("/robot/send")
    assert got.query["access_token"] == ["tok123"]
    assert got.query["sign"] and got.query["timestamp"]  # signed with the stored secret
    assert got.body["at"]["atMobiles"] == ["13800000000", "13900000000"]
    assert "告警" in got.body["markdown"]["text"]  # a robot secured by the keyword takes it

    # Saved again without a secret: the stored one stays; "remove" removes it.
    edit = {"kind": "dingtalk", "name": "ding", "url": url, "at_all": "true"}
    again = world.client.post(
        f"{page_of(world)}/channels/ding",
        data={"csrf_token": token, **edit},
        follow_redirects=False,
    )
    assert again.status_code == 303
    [channel] = stored(world)
    assert channel["secret"] == "SECabcdef" and channel["at_all"] is True
    world.client.post(
        f"{page_of(world)}/channels/ding",
        data={"csrf_token": token, **edit, "secret_clear": "true"},
        follow_redirects=False,
    )
    [channel] = stored(world)
    assert channel.get("secret") is None


@pytest.mark.parametrize(
    ("path", "answer", "code", "says"),
    [
        ("/gone", (404, b"{}"), "notify_http_status", "渠道返回 HTTP 404"),
        ("/busy", (503, b"{}"), "notify_http_status", "渠道返回 HTTP 503"),
        ("/robot", (200, b'{"errcode":310000,"errmsg":"keywords not in content"}'), "", ""),
    ],
)
def test_a_failing_channel_reports_why(
    world: World, receiver: Receiver, path: str, answer: tuple[int, bytes], code: str, says: str
) -> None:
    receiver.answers[path] = answer
    token = sign_in(world.client, "admin_a")
    kind = "dingtalk" if path == "/robot" else "webhook"
    assert (
        add(world, token, {"kind": kind, "name": "ops", "url": receiver.url(path)}).status_code
        == 303
    )
    result = send_test(world, token, "ops")
    assert result.status_code == 200
    assert 'data-delivered="false"' in result.text and "测试通知未能送达" in result.text
    if kind == "dingtalk":
        assert 'data-code="notify_rejected"' in result.text and "310000" in result.text
    else:
        assert f'data-code="{code}"' in result.text and says in result.text
    assert receiver.at(path)  # it was really sent


def test_an_unreachable_channel_and_a_forbidden_target_say_so(world: World) -> None:
    token = sign_in(world.client, "admin_a")
    dead = f"http://127.0.0.1:{free_port()}/hook"
    assert add(world, token, {"kind": "webhook", "name": "dead", "url": dead}).status_code == 303
    result = send_test(world, token, "dead")
    assert 'data-code="notify_unreachable"' in result.text and "无法连接通知渠道" in result.text
    # A channel kept from before its network was closed: refused at the send, not connected to.
    world.registry.put_config(
        "channel",
        world.ent_a,
        {"kind": "webhook", "name": "inside", "url": "http://10.20.30.40/hook"},
        ref=f"{world.ent_a}:inside",
    )
    result = send_test(world, token, "inside")
    assert 'data-code="notify_target_forbidden"' in result.text
    assert send_test(world, token, "nobody").status_code == 404


def test_an_email_channel_gets_the_test_mail(world: World, mailbox: tuple[Mailbox, int]) -> None:
    box, port = mailbox
    token = sign_in(world.client, "admin_a")
    fields = {
        "kind": "email",
        "name": "mail",
        "lang": "en",
        "host": "127.0.0.1",
        "port": str(port),
        "sender": "数谷告警 <alarm@shugu.example>",
        "recipients": "ops@mill.example\nlead@mill.example",
    }
    answer = add(world, token, fields)
    assert answer.status_code == 303, answer.text
    assert 'data-delivered="true"' in send_test(world, token, "mail").text
    [(to, message)] = box.received
    assert to == ["ops@mill.example", "lead@mill.example"]
    assert "Test notice" in str(message["Subject"])


def test_bad_fields_are_refused_beside_them_in_the_users_language(world: World) -> None:
    token = sign_in(world.client, "admin_a")
    answer = add(world, token, {"kind": "webhook", "name": "bad", "url": "ftp://x"})
    assert answer.status_code == 422
    assert "通知渠道配置有误" in field_error(answer.text, "url")
    assert 'value="ftp://x"' in answer.text  # what was typed is shown again
    assert not stored(world)
    world.client.cookies.set("shugu_lang", "en")
    answer = add(
        world,
        token,
        {
            "kind": "dingtalk",
            "name": "d",
            "url": "https://oapi.dingtalk.com/robot/send",
            "at_mobiles": "call-me",
        },
    )
    assert answer.status_code == 422
    assert "digits" in field_error(answer.text, "at_mobiles")
    answer = add(
        world,
        token,
        {
            "kind": "email",
            "name": "m",
            "host": "127.0.0.1",
            "sender": "alarm@mill.example",
            "recipients": "ops@mill.example",
            "username": "me",
        },
    )
    assert answer.status_code == 422
    assert "neither" in field_error(answer.text, "password")
    # A private address is refused when saved, with the reason.
    answer = add(world, token, {"kind": "webhook", "name": "lan", "url": "http://192.168.1.9/x"})
    assert answer.status_code == 422 and field_error(answer.text, "url")


def test_a_second_channel_of_the_same_name_is_refused(world: World, receiver: Receiver) -> None:
    token = sign_in(world.client, "admin_a")
    fields = {"kind": "webhook", "name": "ops", "url": receiver.url("/a")}
    assert add(world, token, fields).status_code == 303
    answer = add(world, token, {**fields, "url": receiver.url("/b")})
    assert answer.status_code == 422 and field_error(answer.text, "name")
    assert len(stored(world)) == 1


def test_the_policy_follows_a_renamed_or_deleted_channel(world: World, receiver: Receiver) -> None:
    token = sign_in(world.client, "admin_a")
    for name in ("ops", "boss"):
        add(world, token, {"kind": "webhook", "name": name, "url": receiver.url(f"/{name}")})
    page = world.client.get(page_of(world)).text
    assert 'data-testid="no-policy"' in page
    saved = world.client.post(
        f"{page_of(world)}/policy",
        data={
            "csrf_token": token,
            "first": "ops",
            "repeat_every_min": "30",
            "escalate_after_min": "60",
            "second": "boss",
        },
        follow_redirects=False,
    )
    assert saved.status_code == 303
    policy = policy_of(world) or {}
    assert policy["first"] == ["ops"] and policy["second"] == ["boss"]
    assert policy["repeat_every_min"] == 30 and policy["escalate_after_min"] == 60
    renamed = world.client.post(
        f"{page_of(world)}/channels/ops",
        data={"csrf_token": token, "kind": "webhook", "name": "duty", "url": receiver.url("/ops")},
        follow_redirects=False,
    )
    assert renamed.status_code == 303
    assert (policy_of(world) or {})["first"] == ["duty"]
    deleted = world.client.post(
        f"{page_of(world)}/channels/boss/delete", data={"csrf_token": token}, follow_redirects=False
    )
    assert deleted.status_code == 303
    policy = policy_of(world) or {}
    assert policy["first"] == ["duty"] and policy["repeat_every_min"] == 30
    assert not policy.get("second") and policy.get("escalate_after_min") is None
    assert [c["name"] for c in stored(world)] == ["duty"]


def test_a_policy_that_escalates_to_nobody_is_refused_beside_the_field(
    world: World, receiver: Receiver
) -> None:
    token = sign_in(world.client, "admin_a")
    add(world, token, {"kind": "webhook", "name": "ops", "url": receiver.url("/ops")})
    answer = world.client.post(
        f"{page_of(world)}/policy",
        data={"csrf_token": token, "first": "ops", "escalate_after_min": "15"},
    )
    assert answer.status_code == 422
    assert field_error(answer.text, "second")
    answer = world.client.post(
        f"{page_of(world)}/policy", data={"csrf_token": token, "repeat_every_min": "abc"}
    )
    assert answer.status_code == 422
    assert "请至少选择一个首先通知的渠道" in field_error(answer.text, "first")
    assert policy_of(world) is None


def services_of(w: World) -> Services:
    return cast(Services, cast(FastAPI, w.client.app).state.services)


def test_who_sees_and_who_changes_the_channels(world: World, receiver: Receiver) -> None:
    token = sign_in(world.client, "admin_a")
    add(world, token, {"kind": "webhook", "name": "ops", "url": receiver.url("/ops")})
    # A viewer does not see them, as through the API.
    viewer = sign_in(world.client, "viewer_a")
    assert world.client.get(page_of(world)).status_code == 403
    assert send_test(world, viewer, "ops").status_code == 403
    # The operator sees them, masked, but changes or tests them only with consent.
    operator = sign_in(world.client, "operator")
    page = world.client.get(page_of(world))
    assert page.status_code == 200 and 'data-testid="read-only"' in page.text
    assert 'data-testid="send-test"' not in page.text
    assert send_test(world, operator, "ops").status_code == 403
    world.registry.grant_consent(world.ent_a, world.user_ids["admin_a"], "排查", "operator")
    page = world.client.get(page_of(world))
    assert 'data-testid="send-test"' in page.text
    assert 'data-delivered="true"' in send_test(world, operator, "ops").text
    # Another enterprise's administrator: no such page.
    sign_in(world.client, "admin_b")
    assert world.client.get(page_of(world)).status_code == 404


def test_the_page_speaks_english_when_chosen(world: World) -> None:
    sign_in(world.client, "admin_a")
    world.client.cookies.set("shugu_lang", "en")
    page = world.client.get(f"{page_of(world)}?add=wecom")
    assert page.status_code == 200
    assert "Notification channels" in page.text and "WeCom robot" in page.text
    assert 'data-testid="new-channel"' in page.text and "Message type" in page.text
