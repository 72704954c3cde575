"""Whatever JSON an API sends, parsing it gives a job state or a typed ProviderError, never a
KeyError or TypeError from deep inside a client."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from studio.core.lifecycle import JobState
from studio.providers.errors import ProviderError
from studio.providers.http import JobStatus
from studio.providers.http.classify import first_text, rate_limit_wait
from studio.providers.imageapi import find_images, find_seed
from studio.providers.modelslab import ModelsLabProvider
from studio.providers.onemin import OneMinProvider
from studio.providers.replicate import ReplicateProvider

scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(
    max_size=20)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(
        st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)
STATUSES = st.sampled_from(["success", "processing", "error", "failed", "starting",
                            "succeeded", "canceled", "aborted", "SUCCESS", "PROCESSING",
                            "FAILURE", "COMPLETED", "weird", ""])
KEYS = ["status", "output", "proxy_links", "meta", "eta", "id", "message", "messege", "error",
        "retry_after", "logs", "metrics", "fetch_result", "temporaryUrl", "aiRecordDetail"]
answers = st.fixed_dictionaries(
    {"status": STATUSES | json_values},
    optional={key: json_values for key in KEYS if key != "status"},
)


MODELSLAB = ModelsLabProvider(api_key="k")
REPLICATE = ReplicateProvider(api_key="k")
ONEMIN = OneMinProvider(api_key="k")


def parsed(parse: Any, data: dict[str, Any]) -> JobStatus | ProviderError:
    try:
        return parse(data)  # type: ignore[no-any-return]
    except ProviderError as exc:
        return exc


@settings(max_examples=100, deadline=None)
@given(data=answers, http_status=st.sampled_from([200, 400, 401, 429, 500]))
def test_modelslab_answers(data: dict[str, Any], http_status: int) -> None:
    outcome = parsed(lambda d: MODELSLAB.status(d, http_status), data)
    if isinstance(outcome, JobStatus):
        assert all(isinstance(o, str) and o for o in outcome.outputs)


@settings(max_examples=100, deadline=None)
@given(data=answers)
def test_replicate_answers(data: dict[str, Any]) -> None:
    outcome = parsed(REPLICATE.status, data)
    if isinstance(outcome, JobStatus) and outcome.state is JobState.DONE:
        assert outcome.outputs
        assert outcome.seed is None or isinstance(outcome.seed, int)


@settings(max_examples=100, deadline=None)
@given(data=answers)
def test_onemin_records(data: dict[str, Any]) -> None:
    outcome = parsed(ONEMIN.status, data)
    if isinstance(outcome, JobStatus):
        assert outcome.seed is None  # 1min.ai confirms no seed


@settings(max_examples=100, deadline=None)
@given(data=json_values)
def test_image_search_and_messages_take_anything(data: Any) -> None:
    assert all(isinstance(ref, str) for ref in find_images(data))
    if isinstance(data, dict):
        assert isinstance(first_text(data, "message", "error", "detail"), str)
        seed = find_seed(data)
        assert seed is None or isinstance(seed, int)
        wait = rate_limit_wait({}, data, str(data.get("detail", "")), 0.0)
        assert wait is None or wait >= 0
        seed = find_seed(data)
        assert seed is None or isinstance(seed, int)
        wait = rate_limit_wait({}, data, str(data.get("detail", "")), 0.0)
        assert wait is None or wait >= 0
