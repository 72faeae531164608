"""Signed evidence: what the document holds, and that no change to a signed file verifies."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

import hitlkit
from hitlkit import _evidence
from hitlkit._evidence import EvidenceError
from hitlkit._policy import Policy, Quorum
from hitlkit._store import Store
from hitlkit._sync import run_sync


def decided(store: Store) -> hitlkit.Event[bool]:
    """A quorum event approved by ana and cy, after bo's place went to eve, who voted no."""
    event = hitlkit.new_event(
        "deploy",
        bool,
        prompt="Deploy 4.2?",
        store=store,
        serve=False,
        policy=Policy(quorum=Quorum(2, of=["ana", "bo", "cy"], veto=False), delegation=True),
        requested_by="dev",
    )
    hitlkit.Client(store=store, user="bo").delegate(event.request_id, "eve", "on leave")
    hitlkit.Client(store=store, user="ana").answer(event.request_id, True, comment="ok")
    hitlkit.Client(store=store, user="eve").answer(event.request_id, False, comment="not today")
    hitlkit.Client(store=store, user="cy").answer(event.request_id, True)
    return event


@pytest.fixture
def key(tmp_path: Path) -> Path:
    path = tmp_path / "evidence.pem"
    _evidence.generate_key(path)
    return path


def test_the_document_holds_the_event_its_votes_and_its_outcome(store: Store) -> None:
    event = decided(store)

    document = run_sync(_evidence.build_document(store, event.request_id))

    assert document["format"] == "hitlkit-evidence/1"
    assert document["event"]["id"] == event.request_id
    assert document["event"]["requested_by"] == "dev"
    assert document["shown_matches"] is True
    assert document["outcome"]["decision"] == "approved"
    assert [(v["by"], v["value"], v["seat"]) for v in document["votes"]] == [
        ("ana", True, None),
        ("eve", False, "bo"),
        ("cy", True, None),
    ]
    assert [(d["by"], d["to"]) for d in document["delegations"]] == [("bo", "eve")]
    assert document["grant"] is None
    assert document["versions"] == []


def test_a_later_version_names_the_earlier_ones(store: Store) -> None:
    first = hitlkit.new_event(
        "deploy", bool, store=store, serve=False, policy=Quorum(1, of=["ana"])
    )
    hitlkit.Client(store=store, user="ana").answer(first.request_id, False, comment="no plan")
    second = first.ask_again("Deploy 4.2, with a rollback plan?")

    document = run_sync(_evidence.build_document(store, second.request_id))

    assert document["event"]["version"] == 2
    [earlier] = document["versions"]
    assert (earlier["id"], earlier["version"]) == (first.request_id, 1)
    assert earlier["outcome"]["value"] is False
    assert "no plan" in earlier["outcome"]["reason"]


def test_keygen_writes_a_private_key_only_its_owner_reads(tmp_path: Path) -> None:
    pub, key_id = _evidence.generate_key(tmp_path / "k.pem")

    assert stat.S_IMODE((tmp_path / "k.pem").stat().st_mode) == 0o600
    assert pub == tmp_path / "k.pem.pub"
    assert pub.read_text().startswith("-----BEGIN PUBLIC KEY-----")
    assert len(key_id) == 16
    with pytest.raises(FileExistsError, match="exists"):
        _evidence.generate_key(tmp_path / "k.pem")


def test_a_flipped_bit_anywhere_in_a_signed_file_is_refused(store: Store, key: Path) -> None:
    event = decided(store)
    signed = run_sync(_evidence.export(store, event.request_id, key))
    data = (json.dumps(signed, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()
    trusted = _evidence.load_public_key(key.with_name(key.name + ".pub"))
    assert _evidence.verify(data, trusted).key_id == signed["key_id"]

    accepted = []
    for at in range(len(data)):
        for bit in (0x01, 0x20):
            changed = bytearray(data)
            changed[at] ^= bit
            try:
                _evidence.verify(bytes(changed), trusted)
            except EvidenceError:
                continue
            accepted.append((at, bit))
    assert accepted == []


def test_each_fault_is_named(store: Store, key: Path, tmp_path: Path) -> None:
    event = decided(store)
    signed = run_sync(_evidence.export(store, event.request_id, key))
    trusted = _evidence.load_public_key(key.with_name(key.name + ".pub"))
    other_pub, _ = _evidence.generate_key(tmp_path / "other.pem")
    other = _evidence.load_public_key(other_pub)
    data = json.dumps(signed).encode()

    def refusal(data: bytes, key: object = trusted) -> str:
        with pytest.raises(EvidenceError) as refused:
            _evidence.verify(data, key)  # type: ignore[arg-type]
        return str(refused.value)

    assert refusal(data, other).startswith("wrong key")
    altered = json.loads(data)
    altered["document"]["outcome"]["by"] = "mallory"
    assert refusal(json.dumps(altered).encode()).startswith("altered document")
    altered["document_sha256"] = _evidence._digest(altered["document"])
    assert refusal(json.dumps(altered).encode()).startswith("bad signature")
    swapped = json.loads(data)
    swapped["public_key"] = json.loads(
        json.dumps(run_sync(_evidence.export(store, event.request_id, tmp_path / "other.pem")))
    )["public_key"]
    assert refusal(json.dumps(swapped).encode()).startswith("wrong key")
    assert refusal(data[: len(data) // 2]).startswith("not JSON")
    assert refusal(b"\xff\xfe not json").startswith("not JSON")
    assert refusal(b"[1, 2]").startswith("not evidence")
    unsigned = run_sync(_evidence.build_document(store, event.request_id))
    assert refusal(json.dumps({"document": unsigned}).encode()).startswith("not signed")


def test_unsigned_without_a_key(store: Store) -> None:
    event = decided(store)
    exported = run_sync(_evidence.export(store, event.request_id))
    assert "signature" not in exported
    assert "HITL_EVIDENCE_KEY" in exported["note"]


def test_the_verified_line_names_who_decided_a_veto(store: Store, key: Path) -> None:
    event = hitlkit.new_event(
        "deploy", bool, store=store, serve=False, policy=Quorum(2, of=["ana", "bo", "cy"])
    )
    hitlkit.Client(store=store, user="ana").answer(event.request_id, True)
    hitlkit.Client(store=store, user="cy").answer(event.request_id, False, comment="no")
    signed = run_sync(_evidence.export(store, event.request_id, key))
    trusted = _evidence.load_public_key(key.with_name(key.name + ".pub"))

    line = _evidence.verify(json.dumps(signed).encode(), trusted).line()

    assert line == (
        f"valid: signed by key {signed['key_id']}, event {event.request_id} (deploy) "
        "decided vetoed (false) by cy (store)"
    )
