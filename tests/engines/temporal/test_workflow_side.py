"""The workflow side: the signal's payload through temporalio's data converter, the
handler that keeps the first resolution per event, and typed answers, without a server."""

from __future__ import annotations

import pytest
from pydantic import BaseModel
from temporalio import workflow
from temporalio.converter import DataConverter

from hitlkit.contrib.temporal import (
    SIGNAL,
    Asked,
    HitlWorkflow,
    QuestionCancelled,
    QuestionTimedOut,
    Resolution,
    answer_of,
)

pytestmark = pytest.mark.anyio

ID = "0123456789abcdef01234567"


def resolution(status: str = "answered", value: object = True, **more: str) -> Resolution:
    return Resolution(ID, status, value, "ana", "form", "2026-12-07T12:00:00+00:00", **more)


@workflow.defn(sandboxed=False)
class Release(HitlWorkflow):
    @workflow.run
    async def run(self, version: str) -> str:
        return version


async def test_a_resolution_crosses_the_data_converter_as_itself() -> None:
    sent = resolution(value={"amount": 1200, "currency": "EUR"}, reason="fits the plan")
    converter = DataConverter.default

    payloads = await converter.encode([sent])
    [received] = await converter.decode(payloads, [Resolution])

    assert received == sent


async def test_an_asked_crosses_the_data_converter_with_its_resolution() -> None:
    asked = Asked(ID, "ship", "release-7", "http://h/e/x", "2026-12-07T13:00:00+00:00")
    answered = Asked(**{**asked.__dict__, "resolution": resolution()})
    converter = DataConverter.default

    decoded = await converter.decode(await converter.encode([asked, answered]), [Asked, Asked])

    assert decoded == [asked, answered]


def test_a_workflow_class_gets_the_signal_handler() -> None:
    definition = workflow._Definition.must_from_class(Release)

    assert SIGNAL in definition.signals
    assert definition.signals[SIGNAL].fn is HitlWorkflow.hitlkit_resolved
    assert definition.signals[SIGNAL].arg_types == [Resolution]  # decoded as one, not a dict


def test_the_first_resolution_of_an_event_stays() -> None:
    release = Release()
    release.hitlkit_resolved(resolution(value=True))
    release.hitlkit_resolved(resolution(value=False))  # sent again, or by a late bridge

    assert release.hitlkit_resolution(ID) == resolution(value=True)
    assert release.hitlkit_resolution("f" * 24) is None


def test_an_asked_that_came_back_resolved_needs_no_signal() -> None:
    release = Release()
    asked = Asked(ID, "ship", "release-7", "", "", resolution=resolution(value=False))

    assert release.hitlkit_resolution(asked) == resolution(value=False)


class Budget(BaseModel):
    amount: int
    currency: str = "EUR"


def test_answers_come_back_typed() -> None:
    assert answer_of(resolution(value=True), bool) is True
    assert answer_of(resolution(value={"amount": 5}), Budget) == Budget(amount=5)
    assert answer_of(resolution("defaulted", 3), int) == 3


def test_a_timeout_and_a_cancellation_fail_the_workflow_for_good() -> None:
    with pytest.raises(QuestionTimedOut, match=ID) as timed_out:
        answer_of(resolution("timed_out", None), bool)
    with pytest.raises(QuestionCancelled, match="called off") as cancelled:
        answer_of(resolution("cancelled", None, reason="called off"), bool)

    assert timed_out.value.non_retryable
    assert cancelled.value.non_retryable
    assert (timed_out.value.type, cancelled.value.type) == ("QuestionTimedOut", "QuestionCancelled")


def test_an_unknown_status_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="got 'lost'"):
        answer_of(resolution("lost"), bool)
