"""Page-matrix rows of the settings pages. B's notification channels: B's administrators and the
operator see them (as the API's read), only B's administrators (or the operator with B's consent)
change or test them. B's consents: whoever may know of B reads them, only B's administrators
grant or revoke them."""

from __future__ import annotations

from tests.api.conftest import World
from tests.web.page_matrix import (
    B_CONFIGURE_ALARMS,
    B_CONSENT,
    B_MANAGE,
    B_PLANT,
    PageRow,
)

#: Nowhere a notice could go (the matrix's world allows no private network); saving it is
#: refused, but only after the scope check that the row is about.
CHANNEL = {"kind": "webhook", "name": "ops", "url": "http://10.9.8.7/hook"}


def b_channel(w: World) -> dict[str, int]:
    w.registry.delete_config_ref("channel", f"{w.ent_b}:ops")
    w.registry.put_config("channel", w.ent_b, dict(CHANNEL), ref=f"{w.ent_b}:ops")
    return {}


def b_consent(w: World) -> dict[str, int]:
    for consent in w.registry.list_consents(w.ent_b):
        w.registry.revoke_consent(consent.id)
    consent = w.registry.grant_consent(w.ent_b, w.user_ids["admin_b"], "for the test", "bureau")
    return {"consent": consent.id}


ROWS: list[PageRow] = [
    PageRow(
        "GET",
        "/e/{enterprise_id}/notifications",
        lambda w, o: f"/e/{w.ent_b}/notifications?add=dingtalk",
        B_MANAGE,
        setup=b_channel,
    ),
    PageRow(
        "POST",
        "/e/{enterprise_id}/notifications/channels",
        lambda w, o: f"/e/{w.ent_b}/notifications/channels",
        B_CONFIGURE_ALARMS,
        form=lambda w, o: {"kind": "webhook", "name": "x", "url": "ftp://nowhere"},
    ),
    PageRow(
        "POST",
        "/e/{enterprise_id}/notifications/channels/{name}",
        lambda w, o: f"/e/{w.ent_b}/notifications/channels/ops",
        B_CONFIGURE_ALARMS,
        form=lambda w, o: {"kind": "webhook", "name": "ops", "url": "ftp://nowhere"},
        setup=b_channel,
    ),
    PageRow(
        "POST",
        "/e/{enterprise_id}/notifications/channels/{name}/delete",
        lambda w, o: f"/e/{w.ent_b}/notifications/channels/ops/delete",
        B_CONFIGURE_ALARMS,
        form=lambda w, o: {},
        setup=b_channel,
    ),
    PageRow(
        "POST",
        "/e/{enterprise_id}/notifications/channels/{name}/test",
        lambda w, o: f"/e/{w.ent_b}/notifications/channels/ops/test",
        B_CONFIGURE_ALARMS,
        form=lambda w, o: {},
        setup=b_channel,
    ),
    PageRow(
        "POST",
        "/e/{enterprise_id}/notifications/policy",
        lambda w, o: f"/e/{w.ent_b}/notifications/policy",
        B_CONFIGURE_ALARMS,
        form=lambda w, o: {"first": "ops"},
        setup=b_channel,
    ),
    PageRow("GET", "/e/{enterprise_id}/consents", lambda w, o: f"/e/{w.ent_b}/consents", B_PLANT),
    PageRow(
        "POST",
        "/e/{enterprise_id}/consents",
        lambda w, o: f"/e/{w.ent_b}/consents",
        B_CONSENT,
        form=lambda w, o: {"grantee": "bureau", "note": "x"},
    ),
    PageRow(
        "POST",
        "/e/{enterprise_id}/consents/{consent_id}/revoke",
        lambda w, o: f"/e/{w.ent_b}/consents/{o['consent']}/revoke",
        B_CONSENT,
        form=lambda w, o: {},
        setup=b_consent,
    ),
]
