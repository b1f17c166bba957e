"""The TTL cache behind the registry's hot-path lookups."""

from __future__ import annotations

from shugu.store.registry.cache import TtlCache


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_entries_expire() -> None:
    clock = FakeClock()
    cache: TtlCache[str, int | None] = TtlCache(5.0, clock=clock)
    cache.put("a", 1)
    cache.put("missing", None)
    hit = cache.get("a")
    assert hit is not None and hit.value == 1
    known_miss = cache.get("missing")
    assert known_miss is not None and known_miss.value is None  # a cached miss is a hit
    clock.now = 5.0
    assert cache.get("a") is None


def test_shorter_ttl_per_entry_never_longer() -> None:
    clock = FakeClock()
    cache: TtlCache[str, int] = TtlCache(5.0, clock=clock)
    cache.put("short", 1, ttl_s=1.0)
    cache.put("long", 2, ttl_s=60.0)
    cache.put("dead", 3, ttl_s=-1.0)
    assert cache.get("dead") is None
    clock.now = 2.0
    assert cache.get("short") is None
    assert cache.get("long") is not None
    clock.now = 5.5
    assert cache.get("long") is None


def test_an_answer_read_before_an_invalidation_is_not_stored() -> None:
    cache: TtlCache[str, int] = TtlCache(5.0)
    generation = cache.generation
    cache.discard("other")  # a concurrent write invalidates while we read the database
    cache.put("k", 1, generation=generation)
    assert cache.get("k") is None
    cache.put("k", 1, generation=cache.generation)
    assert cache.get("k") is not None


def test_size_is_bounded() -> None:
    cache: TtlCache[int, int] = TtlCache(5.0, max_entries=3)
    for key in range(4):
        cache.put(key, key)
    assert cache.get(3) is not None
    assert cache.get(0) is None


def test_clear() -> None:
    cache: TtlCache[str, int] = TtlCache(5.0)
    cache.put("a", 1)
    cache.clear()
    assert cache.get("a") is None
