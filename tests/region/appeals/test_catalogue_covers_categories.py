"""The appeal catalogue names every category the registry accepts: figures and deadlines look
each stored appeal's category up in it."""

from __future__ import annotations

from shugu.region.appeals.catalogue import APPEAL_CATEGORIES, appeal_catalogue


def test_every_category_the_registry_accepts_has_deadlines_and_names() -> None:
    catalogue = appeal_catalogue()
    assert sorted(c.key for c in catalogue.categories) == sorted(APPEAL_CATEGORIES)
    for key in APPEAL_CATEGORIES:
        category = catalogue.category(key)
        assert 0 < category.answer_days <= category.close_days
        assert category.label("zh") != category.label("en")
