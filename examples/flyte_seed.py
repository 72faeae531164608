"""The example of flyteplugins-hitl, unchanged, running on one machine.

Run it (`pip install "hitlkit[flyte]"`), then answer from another terminal in
this folder with the printed link, `hitl answer ID 5`, or curl.
"""

import flyte

import flyteplugins.hitl as hitl

task_env = flyte.TaskEnvironment(
    name="my-hitl-workflow",
    image=flyte.Image.from_debian_base(python_version=(3, 12)),
    resources=flyte.Resources(cpu=1, memory="512Mi"),
    depends_on=[hitl.env],
)


@task_env.task(report=True)
async def main() -> int:
    # Create an event (this serves the app if not already running)
    event = await hitl.new_event.aio(
        "integer_input_event",
        data_type=int,
        scope="run",
        prompt="What should I add to x?",
    )
    y = await event.wait.aio()
    return y


if __name__ == "__main__":
    flyte.init()
    r = flyte.run(main)
    print(r.outputs()[0])
