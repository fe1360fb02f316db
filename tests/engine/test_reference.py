"""Baked reference values replay exactly what the reference returned at the time of the call."""

from __future__ import annotations

import types

import numpy as np
import pytest

from grader.engine.reference import CachingReference, RecordingReference, ReplayReference
from grader.errors import ConfigError, GraderError


def module(**functions):
    return types.SimpleNamespace(**functions)


def replay_of(recording: RecordingReference, tmp_path) -> ReplayReference:
    path = tmp_path / "expected.msgpack"
    path.write_bytes(recording.dump())
    return ReplayReference(path)


def test_replay_answers_the_recorded_calls(tmp_path):
    recording = RecordingReference(module(double=lambda x: 2 * x))
    x = np.arange(3.0)
    recording.double(x)
    replay = replay_of(recording, tmp_path)
    np.testing.assert_array_equal(replay.double(x), [0.0, 2.0, 4.0])


def test_results_changed_in_place_later_are_recorded_as_they_were(tmp_path):
    recording = RecordingReference(module(config=lambda: {"t": 0}))
    result = recording.config()
    result["t"] = 99
    assert replay_of(recording, tmp_path).config() == {"t": 0}


def test_a_call_that_was_not_recorded_is_a_clear_error(tmp_path):
    recording = RecordingReference(module(double=lambda x: 2 * x))
    recording.double(1.0)
    with pytest.raises(GraderError, match=r"no hay valor esperado para reference\.double"):
        replay_of(recording, tmp_path).double(2.0)


def test_a_result_that_is_not_data_cannot_be_recorded():
    recording = RecordingReference(module(model=lambda: object()))
    with pytest.raises(ConfigError, match="no es un dato"):
        recording.model()


def counting_module() -> types.ModuleType:
    module = types.ModuleType("ref")
    module.calls = 0

    def double(x):
        module.calls += 1
        return x * 2, {"n": int(x.size)}

    class Model:
        pass

    module.double = double
    module.Model = Model
    module.make = lambda: Model()
    return module


def test_caching_reference_computes_each_distinct_call_once():
    module = counting_module()
    cached = CachingReference(module)
    x = np.arange(6.0).reshape(2, 3)
    cached.double(x)
    second = cached.double(x.copy())
    cached.double(x + 1)
    assert module.calls == 2 and (cached.hits, cached.misses) == (1, 2)
    np.testing.assert_array_equal(second[0], x * 2)
    assert second[1] == {"n": 6} and type(second) is tuple


def test_caching_reference_hands_out_copies_that_checks_may_change():
    cached = CachingReference(counting_module())
    x = np.ones(3)
    cached.double(x)[0][:] = 99
    np.testing.assert_array_equal(cached.double(x)[0], [2, 2, 2])


def test_caching_reference_passes_classes_and_non_data_results_through():
    module = counting_module()
    cached = CachingReference(module)
    assert cached.Model is module.Model
    assert isinstance(cached.make(), module.Model) and cached.make() is not cached.make()
