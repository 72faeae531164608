"""The README's quickstart: ask a person for an int, and a yes/no from async code.

Run it, then answer from another terminal with the printed link, `hitl answer`, or curl.
"""

import asyncio

import hitlkit as hitl

event = hitl.new_event("add_to_x", data_type=int, prompt="What should I add to x?")
print(event.form_url, flush=True)
y = event.wait()
print(f"x + y = {10 + y}", flush=True)


async def main() -> None:
    ev = await hitl.new_event.aio("ok", data_type=bool, prompt="Deploy?")
    print(ev.form_url, flush=True)
    approved = await ev.wait.aio()
    print("deploying" if approved else "not deploying", flush=True)


asyncio.run(main())
