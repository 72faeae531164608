"""`ask` in ops and assets, run by Dagster in process: the op asks and ends at once."""

import dagster as dg
import pytest

import hitlkit
from hitlkit.contrib.dagster import ask
from tests.engines.dagster.jobs import approval, ask_job, async_job, fan_out_job


def output_metadata(result: dg.ExecuteInProcessResult, node: str) -> dict[str, object]:
    """The metadata of `node`'s output, as the run's event log holds it."""
    for event in result.events_for_node(node):
        if event.is_successful_output:
            return {k: v.value for k, v in event.step_output_data.metadata.items()}
    raise AssertionError(f"{node} has no output")


def test_the_asking_op_ends_with_the_event_id_and_the_form_link(
    instance: dg.DagsterInstance,
) -> None:
    result = ask_job.execute_in_process(instance=instance)

    assert result.success
    event_id = result.output_for_node("request_plan")
    assert result.output_for_node("after_asking") == event_id
    event = hitlkit.get_event(event_id)
    assert (event.status, event.prompt) == ("pending", "How should we scale?")
    assert (event.run_id, event.name) == (result.run_id, "request_plan@request_plan")
    assert event.data_type == "Plan"
    metadata = output_metadata(result, "request_plan")
    assert metadata["hitlkit_event_id"] == event_id
    assert metadata["form_url"] == f"http://127.0.0.1:8080/form/{event_id}"


def test_a_reexecuted_step_finds_its_question(stored_instance: dg.DagsterInstance) -> None:
    instance = stored_instance
    job = dg.reconstructable(ask_job)
    with dg.execute_job(job, instance=instance) as first:
        asked = first.output_for_node("request_plan")
    again = dg.ReexecutionOptions(parent_run_id=first.run_id, step_selection=["request_plan"])
    with dg.execute_job(job, instance=instance, reexecution_options=again) as second:
        assert second.success
        assert second.dagster_run.root_run_id == first.run_id
        assert second.output_for_node("request_plan") == asked
    assert [e.request_id for e in hitlkit.list_events("all")] == [asked]
    hitlkit.answer(asked, {"replicas": 3, "region": "eu"})
    with dg.execute_job(job, instance=instance, reexecution_options=again) as third:
        said = [entry.user_message for entry in instance.all_logs(third.run_id)]
    assert any("'How should we scale?' was answered by tester already" in line for line in said)
    assert not any(line.startswith("asked ") for line in said)

    with dg.execute_job(job, instance=instance) as new_run:  # not a re-execution: asks anew
        assert new_run.output_for_node("request_plan") != asked


def test_each_mapped_step_asks_its_own_question(instance: dg.DagsterInstance) -> None:
    result = fan_out_job.execute_in_process(instance=instance)

    ids = result.output_for_node("request_replicas")
    assert sorted(ids) == ["eu", "us"]
    names = sorted(hitlkit.get_event(ids[key]).name for key in ids)
    assert names == ["replicas@request_replicas[eu]", "replicas@request_replicas[us]"]


def test_an_async_op_asks_with_aio(instance: dg.DagsterInstance) -> None:
    result = async_job.execute_in_process(instance=instance)

    event = hitlkit.get_event(result.output_for_node("request_go"))
    assert (event.name, event.prompt, event.status) == ("go@request_go", "Go?", "pending")


def test_an_asset_asks_and_materializes_the_event_id(instance: dg.DagsterInstance) -> None:
    result = dg.materialize([approval], instance=instance)

    event_id = result.output_for_node("approval")
    assert hitlkit.get_event(event_id).name == "publish@approval"
    materialization = result.asset_materializations_for_node("approval")[0]
    assert materialization.metadata["hitlkit_event_id"].value == event_id


def test_a_question_name_with_the_separator_fails_the_step(
    instance: dg.DagsterInstance,
) -> None:
    @dg.op
    def bad(context: dg.OpExecutionContext) -> str:
        return ask(context, "?", int, name="a@b")

    with pytest.raises(ValueError, match="without '@', got 'a@b'"):
        dg.GraphDefinition(name="bad_graph", node_defs=[bad]).to_job().execute_in_process(
            instance=instance
        )
    assert hitlkit.list_events("all") == []


def test_ask_outside_an_op_says_what_it_takes() -> None:
    with pytest.raises(TypeError, match="takes the op's or asset's context"):
        ask("context", "?", int)  # type: ignore[arg-type]
