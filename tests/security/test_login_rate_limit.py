"""Sign-in rate limiting through the HTTP API, with the default limits."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.api.conftest import PASSWORD, World

LOGIN = "/api/auth/login"


def _login(client: TestClient, username: str, password: str) -> tuple[int, dict[str, object]]:
    answer = client.post(LOGIN, json={"username": username, "password": password})
    return answer.status_code, answer.json()


def test_five_failures_lock_the_username_even_for_the_right_password(world: World) -> None:
    client = world.client
    for _ in range(5):
        assert _login(client, "admin_a", "wrong password")[0] == 401
    answer = client.post(LOGIN, json={"username": "admin_a", "password": PASSWORD})
    assert answer.status_code == 429
    assert answer.json()["error"]["code"] == "too_many_attempts"
    retry_after = int(answer.headers["retry-after"])
    assert 0 < retry_after <= 15 * 60
    assert "set-cookie" not in answer.headers
    # Another user signs in from the same address meanwhile.
    assert _login(client, "admin_b", PASSWORD)[0] == 200


def test_success_resets_the_username_count(world: World) -> None:
    client = world.client
    for _ in range(4):
        assert _login(client, "viewer_a", "wrong password")[0] == 401
    assert _login(client, "viewer_a", PASSWORD)[0] == 200
    for _ in range(4):
        assert _login(client, "viewer_a", "wrong password")[0] == 401
    assert _login(client, "viewer_a", PASSWORD)[0] == 200


def test_unknown_usernames_are_counted_like_known_ones(world: World) -> None:
    for _ in range(5):
        assert _login(world.client, "ghost", PASSWORD)[0] == 401
    status, body = _login(world.client, "ghost", PASSWORD)
    assert status == 429
    assert body["error"]["code"] == "too_many_attempts"  # type: ignore[index]


def test_twenty_failures_from_one_address_lock_that_address_only(world: World) -> None:
    app = world.client.app
    guesser = TestClient(app, client=("198.51.100.7", 40000))
    for i in range(20):
        assert _login(guesser, f"guess-{i}", "wrong password")[0] == 401
    status, body = _login(guesser, "operator", PASSWORD)
    assert status == 429
    assert "address" in body["error"]["message"]  # type: ignore[index]
    colleague = TestClient(app, client=("198.51.100.8", 40000))
    assert _login(colleague, "operator", PASSWORD)[0] == 200


def test_malformed_sign_ins_are_refused_without_counting(world: World) -> None:
    for _ in range(10):
        answer = world.client.post(LOGIN, json={"username": "admin_a"})
        assert answer.status_code == 422
    assert _login(world.client, "admin_a", PASSWORD)[0] == 200
