"""`answered_sensor`, evaluated with Dagster's own sensor-test helpers, and the runs it
requests, executed in process."""

import json
import time
from datetime import datetime, timedelta, timezone

import dagster as dg
import pytest
from dagster._core.definitions.sensor_definition import SensorExecutionData

import hitlkit
from hitlkit.contrib.dagster import EVENT_TAG, Answer, answered_sensor
from tests.engines.dagster.jobs import (
    Plan,
    apply_job,
    approval,
    ask_job,
    async_job,
    fan_out_job,
    go_answered,
    plan_answered,
    publish_answered,
    publish_job,
    published,
)


def evaluate(
    sensor: dg.SensorDefinition, instance: dg.DagsterInstance, cursor: str | None = None
) -> SensorExecutionData:
    return sensor.evaluate_tick(dg.build_sensor_context(instance=instance, cursor=cursor))


def ask(instance: dg.DagsterInstance, timeout_seconds: float = 3600) -> str:
    """Run the asking job; the id of the event it asked."""
    config = {"ops": {"request_plan": {"config": {"timeout_seconds": timeout_seconds}}}}
    result = ask_job.execute_in_process(run_config=config, instance=instance)
    event_id: str = result.output_for_node("request_plan")
    return event_id


def answer_config(request: dg.RunRequest, op: str = "apply_plan") -> dict[str, object]:
    run_config = request.run_config
    assert isinstance(run_config, dict)
    config: dict[str, object] = run_config["ops"][op]["config"]
    return config


def test_an_answer_launches_one_run_that_gets_the_typed_answer(
    instance: dg.DagsterInstance,
) -> None:
    event_id = ask(instance)
    before = evaluate(plan_answered, instance)
    assert before.run_requests == []
    assert before.skip_message == "no 'request_plan' question resolved; 1 pending"

    hitlkit.answer(event_id, Plan(replicas=3, region="eu"))
    tick = evaluate(plan_answered, instance, before.cursor)

    assert tick.run_requests is not None
    assert len(tick.run_requests) == 1
    request = tick.run_requests[0]
    assert request.run_key == f"hitlkit:{event_id}"
    assert request.tags[EVENT_TAG] == event_id
    config = answer_config(request)
    assert (config["status"], config["value"], config["by"]) == (
        "answered",
        {"replicas": 3, "region": "eu"},
        "tester",
    )
    run = apply_job.execute_in_process(run_config=request.run_config, instance=instance)
    assert run.output_for_node("apply_plan") == Plan(replicas=3, region="eu")

    again = evaluate(plan_answered, instance, tick.cursor)
    assert again.run_requests == []
    assert again.skip_message == "no 'request_plan' question resolved; 0 pending"


def test_a_reset_cursor_requests_the_same_run_key(instance: dg.DagsterInstance) -> None:
    """Without its cursor (reset, lost), the sensor asks again under the same run key,
    which Dagster launches only once."""
    event_id = ask(instance)
    hitlkit.answer(event_id, {"replicas": 1, "region": "us"})

    first = evaluate(plan_answered, instance)
    reset = evaluate(plan_answered, instance, cursor=None)

    keys = [[r.run_key for r in tick.run_requests or []] for tick in (first, reset)]
    assert keys == [[f"hitlkit:{event_id}"], [f"hitlkit:{event_id}"]]


def test_the_cursor_marks_how_far_back_it_reads(instance: dg.DagsterInstance) -> None:
    event_id = ask(instance)
    hitlkit.answer(event_id, {"replicas": 1, "region": "us"})
    later = datetime.now(timezone.utc) + timedelta(hours=1)
    cursor = json.dumps({"since": later.isoformat(), "requested": []})

    assert evaluate(plan_answered, instance, cursor).run_requests == []
    assert len(evaluate(plan_answered, instance).run_requests or []) == 1


def test_a_new_answer_after_an_old_one_launches_only_the_new(
    instance: dg.DagsterInstance,
) -> None:
    old = ask(instance)
    hitlkit.answer(old, {"replicas": 1, "region": "us"})
    tick = evaluate(plan_answered, instance)
    new = ask(instance)
    hitlkit.answer(new, {"replicas": 2, "region": "eu"})

    requests = evaluate(plan_answered, instance, tick.cursor).run_requests or []

    assert [r.run_key for r in requests] == [f"hitlkit:{new}"]


def test_a_timed_out_question_launches_a_run_that_stops_on_it(
    instance: dg.DagsterInstance,
) -> None:
    event_id = ask(instance, timeout_seconds=0.05)
    while hitlkit.get_event(event_id).status == "pending":
        time.sleep(0.05)

    requests = evaluate(plan_answered, instance).run_requests or []

    assert answer_config(requests[0])["status"] == "timed_out"
    outcome = hitlkit.get_event(event_id).outcome
    assert outcome is not None
    assert (outcome.status, outcome.via) == ("timed_out", "timeout")
    run = apply_job.execute_in_process(
        run_config=requests[0].run_config, instance=instance, raise_on_error=False
    )
    assert not run.success
    error = run.get_step_failure_events()[0].step_failure_data.error
    assert error is not None
    assert error.cause is not None
    assert error.cause.cls_name == "EventTimeoutError"


def test_past_its_deadline_the_default_is_the_answer(instance: dg.DagsterInstance) -> None:
    config = {"ops": {"request_go": {"config": {"timeout_seconds": 0.05}}}}
    asked = async_job.execute_in_process(run_config=config, instance=instance)
    event_id = asked.output_for_node("request_go")
    while hitlkit.get_event(event_id).status == "pending":
        time.sleep(0.05)

    [request] = evaluate(go_answered, instance).run_requests or []

    assert answer_config(request, "published")["status"] == "defaulted"
    run = dg.materialize([published], run_config=request.run_config, instance=instance)
    assert run.output_for_node("published") is False


def test_a_cancelled_question_launches_a_run_with_its_reason(
    instance: dg.DagsterInstance,
) -> None:
    event_id = ask(instance)
    hitlkit.cancel(event_id, reason="scaling is frozen")

    requests = evaluate(plan_answered, instance).run_requests or []

    config = answer_config(requests[0])
    assert (config["status"], config["reason"]) == ("cancelled", "scaling is frozen")
    with pytest.raises(hitlkit.EventCancelledError, match="scaling is frozen"):
        Answer(**config).value_as(Plan)  # type: ignore[arg-type]


def test_an_asset_job_gets_the_answer(instance: dg.DagsterInstance) -> None:
    event_id = dg.materialize([approval], instance=instance).output_for_node("approval")
    hitlkit.answer(event_id, True)

    requests = evaluate(publish_answered, instance).run_requests or []

    assert len(requests) == 1
    run = dg.materialize([published], run_config=requests[0].run_config, instance=instance)
    assert run.output_for_node("published") is True


def test_other_questions_do_not_launch_it(instance: dg.DagsterInstance) -> None:
    ids = fan_out_job.execute_in_process(instance=instance).output_for_node("request_replicas")
    for event_id in ids.values():
        hitlkit.answer(event_id, 2)

    tick = evaluate(plan_answered, instance)

    assert tick.run_requests == []
    replicas_answered = answered_sensor(apply_job, question="replicas")
    assert len(evaluate(replicas_answered, instance).run_requests or []) == 2


def test_the_sensor_needs_the_op_that_takes_the_answer() -> None:
    with pytest.raises(ValueError, match=r"exactly one op of job 'ask_job'.*found: none"):
        answered_sensor(ask_job, question="request_plan")
    with pytest.raises(ValueError, match="give op= the name of the op"):
        answered_sensor(publish_job, question="publish")
    with pytest.raises(ValueError, match="without '@'"):
        answered_sensor(apply_job, question="a@b")


def test_a_bad_cursor_is_refused_saying_what_is_expected(
    instance: dg.DagsterInstance,
) -> None:
    with pytest.raises(ValueError, match="the sensor's cursor must be JSON"):
        evaluate(plan_answered, instance, cursor="yesterday")


def test_value_as_refuses_a_value_of_another_type() -> None:
    answer = Answer(event_id="0" * 24, status="answered", value="many")
    with pytest.raises(hitlkit.InvalidValueError):
        answer.value_as(int)
    with pytest.raises(ValueError, match=r"Answer\.status must be one of"):
        Answer(event_id="0" * 24, status="done").value_as(int)


def test_an_answer_whose_run_was_launched_is_not_launched_again_by_another_sensor(
    instance: dg.DagsterInstance,
) -> None:
    event_id = ask(instance)
    hitlkit.answer(event_id, {"replicas": 2, "region": "eu"})
    [request] = evaluate(plan_answered, instance).run_requests or []
    apply_job.execute_in_process(
        run_config=request.run_config, instance=instance, tags=request.tags
    )
    renamed = answered_sensor(apply_job, question="request_plan", name="plans_renamed")

    tick = evaluate(renamed, instance)  # no cursor, another name: Dagster's run keys differ

    assert tick.run_requests == []
