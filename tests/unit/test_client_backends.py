"""`Client` picks its backend once: the store, or an app reached through an httpx transport."""

from __future__ import annotations

import asyncio

import httpx
import pytest

import hitlkit as hitl
from hitlkit import Client, MemoryStore
from hitlkit._client_backends import HttpBackend, StoreBackend
from hitlkit._server import create_app

ENDPOINT = "http://hitl.test"


def over_the_app(store: MemoryStore) -> Client:
    transport = httpx.ASGITransport(app=create_app(store))
    return Client(endpoint=ENDPOINT, transport=transport, user="ana")


class Closable(httpx.AsyncBaseTransport):
    """The app's transport, noting whether anyone closed it."""

    def __init__(self, store: MemoryStore) -> None:
        self.inner = httpx.ASGITransport(app=create_app(store))
        self.closed = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        assert not self.closed, "a request through a closed transport"
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        self.closed = True


def test_the_backend_is_chosen_once() -> None:
    store = MemoryStore()
    assert isinstance(Client(store=store)._backend, StoreBackend)
    assert isinstance(over_the_app(store)._backend, HttpBackend)


def test_a_transport_needs_an_endpoint() -> None:
    with pytest.raises(ValueError, match="give endpoint= too"):
        Client(store=MemoryStore(), transport=httpx.MockTransport(lambda r: httpx.Response(200)))


def test_the_app_and_the_store_give_the_same_results() -> None:
    store = MemoryStore()
    a = hitl.new_event("a", data_type=int, store=store, run_id="r1", serve=False)
    b = hitl.new_event("b", data_type=bool, store=store, run_id="r2", serve=False)
    direct, http = Client(store=store, user="ana"), over_the_app(store)

    assert [e.name for e in http.list_events()] == [e.name for e in direct.list_events()]
    assert [e.name for e in http.list_events(run_id="r1")] == ["a"]
    assert http.get_event(a.request_id).data_type == "int"

    outcome = http.answer(a.request_id, "12", as_text=True)
    assert outcome is not None
    assert (outcome.value, outcome.by, outcome.via) == (12, "ana", "python")
    assert a.wait() == 12
    assert direct.get_event(a.request_id).outcome == outcome
    with pytest.raises(hitl.AlreadyAnsweredError) as lost:
        http.answer(a.request_id, 13)
    assert lost.value.outcome == outcome

    http.cancel(b.request_id, reason="not now")
    assert [(e.action, e.by) for e in http.audit(b.request_id)] == [
        (e.action, e.by) for e in direct.audit(b.request_id)
    ]
    with pytest.raises(hitl.EventNotFoundError):
        http.get_event("0" * 24)


def test_the_transport_is_the_callers_and_stays_open() -> None:
    store = MemoryStore()
    event = hitl.new_event("q", data_type=int, store=store, serve=False)
    transport = Closable(store)
    client = Client(endpoint=ENDPOINT, transport=transport)

    async def twice() -> None:
        await client.get_event.aio(event.request_id)
        await client.answer.aio(event.request_id, 4)

    asyncio.run(twice())
    assert not transport.closed


def test_an_app_that_answers_oddly_is_a_transport_error() -> None:
    def not_json(request: httpx.Request) -> httpx.Response:
        return httpx.Response(502, text="<html>Bad gateway</html>")

    client = Client(endpoint=ENDPOINT, transport=httpx.MockTransport(not_json))
    with pytest.raises(hitl.TransportError, match="answered 502 with a body that is not JSON"):
        client.list_events()


def test_an_app_that_cannot_be_reached_is_a_transport_error() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    client = Client(endpoint=ENDPOINT, transport=httpx.MockTransport(refuse))
    with pytest.raises(hitl.TransportError, match=f"could not reach the hitlkit app at {ENDPOINT}"):
        client.get_event("0" * 24)
