from __future__ import annotations

import random

import pytest
from argon2 import PasswordHasher

from shugu.demo import FedDevice, _next_values, demo_bands, seed
from shugu.domain.profiles import get_profile, load_profiles
from shugu.store.registry import Registry


@pytest.mark.parametrize("profile", sorted(demo_bands()))
def test_demo_values_are_known_plausible_metrics(profile: str) -> None:
    spec = get_profile(profile)
    dev = FedDevice("token", spec, {})
    rng = random.Random(1)
    for _ in range(50):
        values = _next_values(dev, rng, 5.0)
        assert set(values) == set(spec.metrics), "every metric of the profile is fed"
        for name, value in values.items():
            assert spec.metrics[name].is_plausible(float(value)), (name, value)


def test_every_fed_profile_exists() -> None:
    assert set(demo_bands()) <= set(load_profiles())


def test_seed_once(tmp_path: object, password_hasher: PasswordHasher) -> None:
    registry = Registry("sqlite://", password_hasher=password_hasher)
    try:
        devices = seed(registry)
        assert len(devices) == 38
        assert registry.has_consent(registry.list_enterprises()[0].id)
        assert seed(registry) == []  # a seeded registry is left alone
    finally:
        registry.close()
