"""`hitl answer / show / delegate / grants / evidence / verify` under decision policies,
run as a user runs them, on the store and through an app with API tokens."""

from __future__ import annotations

import json
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

import hitlkit
from hitlkit._policy import Policy, Quorum
from hitlkit._tokens import create_token
from tests.security.conftest import App, _serve

if TYPE_CHECKING:
    from tests.acceptance.conftest import Hitl, HitlEnv


def ask(env: HitlEnv, name: str = "deploy", run_id: str = "r1", **options: Any) -> str:
    """Create an event in the test's store, as a workflow would; return its id."""
    options.setdefault("policy", Quorum(2, of=["ana", "bo", "cy"]))
    event = hitlkit.new_event(
        name,
        bool,
        prompt="Deploy 4.2?",
        run_id=run_id,
        store=str(env.store),
        serve=False,
        **options,
    )
    return event.request_id


def rows(stdout: str, key: str) -> list[str]:
    """The values of `hitl show`'s rows named `key`."""
    return [line[len(key) :].strip() for line in stdout.splitlines() if line.startswith(key + "  ")]


def test_a_vote_says_where_the_quorum_stands_and_show_lists_it(
    hitl: Hitl, hitl_env: HitlEnv
) -> None:
    request_id = ask(hitl_env, requested_by="dev")

    voted = hitl("answer", request_id, "yes", "--by", "ana", "--comment", "tests pass")

    assert voted.code == 0, voted.stderr
    assert voted.stdout == (
        f"Recorded your vote on deploy ({request_id}); 1 of 2 approved. "
        "The event waits for more votes.\n"
    )
    shown = hitl("show", request_id)
    assert shown.code == 0, shown.stderr
    assert rows(shown.stdout, "policy") == ["2 of 3 (ana, bo, cy), any member may veto"]
    assert rows(shown.stdout, "requested by") == ["dev"]
    assert rows(shown.stdout, "state") == ["1 of 2 approved"]
    assert rows(shown.stdout, "may answer") == ["bo, cy"]
    [vote] = rows(shown.stdout, "vote")
    assert vote.startswith("ana: true at ")
    assert vote.endswith("via cli (store): tests pass")

    changed = hitl("answer", request_id, "no", "--by", "ana")
    assert changed.code == 1
    assert "ana already voted" in changed.error_line()

    decided = hitl("answer", request_id, "yes", "--by", "bo")
    assert decided.code == 0, decided.stderr
    assert decided.stdout == f"Recorded your vote on deploy ({request_id}): approved, true.\n"
    shown = hitl("show", request_id)
    assert rows(shown.stdout, "state") == ["approved by 2 of 2 votes (2 needed)"]
    assert rows(shown.stdout, "decision") == ["approved"]
    assert [v.split(":")[0] for v in rows(shown.stdout, "vote")] == ["ana", "bo"]
    assert rows(shown.stdout, "may answer") == []
    as_json = json.loads(hitl("show", request_id, "--json").stdout)
    assert as_json["policy_state"]["approvals"] == 2


def test_show_names_the_delegation_and_the_version(hitl: Hitl, hitl_env: HitlEnv) -> None:
    policy = Policy(quorum=Quorum(1, of=["ana", "bo"]), delegation=True, separate_duties=True)
    request_id = ask(hitl_env, policy=policy, requested_by="dev")

    refused = hitl("delegate", request_id, "dev", "--reason", "you do it", "--by", "ana")
    assert refused.code == 1
    assert "separation of duties" in refused.error_line()
    handed = hitl("delegate", request_id, "eve", "--reason", "on leave", "--by", "ana")
    assert handed.code == 0, handed.stderr
    assert handed.stdout == f"Handed ana's place on deploy ({request_id}) to eve: on leave\n"

    shown = hitl("show", request_id).stdout
    [line] = rows(shown, "delegated")
    assert line.startswith("ana to eve at ")
    assert line.endswith(": on leave")
    assert rows(shown, "may answer") == ["eve, bo"]

    rejected = hitl("answer", request_id, "no", "--by", "eve", "--comment", "not today")
    assert rejected.code == 0, rejected.stderr
    found = hitlkit.new_event(
        "deploy", bool, run_id="r1", store=str(hitl_env.store), serve=False, policy=policy
    )
    assert found.request_id == request_id  # a restarted program finds its event
    second = found.ask_again("Deploy 4.2 tomorrow?")
    shown = hitl("show", second.request_id).stdout
    assert rows(shown, "version") == ["2"]
    assert rows(shown, "previous") == [request_id]


def test_grants_are_listed_and_revoked_by_grantors(hitl: Hitl, hitl_env: HitlEnv) -> None:
    grantors = {"HITL_GRANTORS": "ana"}
    policy = Policy(grant_scope="db:prod")
    first = ask(hitl_env, "migrate", policy=policy, assignees=["ana", "bo"])

    refused = hitl("answer", first, "yes", "--by", "bo", "--grant-for", "24h", **grantors)
    assert refused.code == 1
    assert "bo is not a grantor" in refused.error_line()
    bad = hitl("answer", first, "yes", "--by", "ana", "--grant-for", "soon", **grantors)
    assert bad.code == 1
    assert "--grant-for must be" in bad.error_line()
    granted = hitl("answer", first, "yes", "--by", "ana", "--grant-for", "24h", **grantors)
    assert granted.code == 0, granted.stderr

    listed = hitl("grants", "ls")
    header, row = listed.stdout.splitlines()
    assert header.split()[:4] == ["ID", "NAME", "SCOPE", "VALUE"]
    [grant] = json.loads(hitl("grants", "ls", "--json").stdout)
    assert row.split()[:5] == [grant["id"], "migrate", "db:prod", "true", "ana"]
    assert "active" in row.split()

    second = ask(hitl_env, "migrate", run_id="r2", policy=policy, assignees=["ana", "bo"])
    shown = hitl("show", second).stdout
    assert rows(shown, "decision") == ["granted"]
    assert rows(shown, "grant")[0].startswith(f"standing approval {grant['id']} of ana")

    not_grantor = hitl("grants", "revoke", grant["id"], "--by", "bo", **grantors)
    assert not_grantor.code == 1
    assert "bo is not a grantor" in not_grantor.error_line()
    revoked = hitl(
        "grants", "revoke", grant["id"], "--by", "ana", "--reason", "new schema", **grantors
    )
    assert revoked.code == 0, revoked.stderr
    assert revoked.stdout.startswith(f"Revoked standing approval {grant['id']} (by ana at ")
    assert hitl("grants", "ls").stdout == "No active standing approvals.\n"
    assert "revoked by ana" in hitl("grants", "ls", "--all").stdout


@pytest.fixture
def keys(hitl: Hitl, hitl_env: HitlEnv) -> Path:
    made = hitl("evidence", "keygen", "--out", "evidence.pem")
    assert made.code == 0, made.stderr
    return hitl_env.cwd / "evidence.pem"


def test_evidence_is_exported_signed_and_verified_offline(
    hitl: Hitl, hitl_env: HitlEnv, keys: Path
) -> None:
    assert stat.S_IMODE(keys.stat().st_mode) == 0o600
    pub = keys.with_name("evidence.pem.pub")
    request_id = ask(hitl_env)
    hitl("answer", request_id, "yes", "--by", "ana")
    hitl("answer", request_id, "yes", "--by", "cy")
    signing = {"HITL_EVIDENCE_KEY": str(keys)}

    exported = hitl("evidence", "export", request_id, "--out", "ev.json", **signing)
    assert exported.code == 0, exported.stderr
    checked = hitl("verify", "ev.json", "--public-key", str(pub))
    assert checked.code == 0, checked.stderr
    key_id = json.loads((hitl_env.cwd / "ev.json").read_text())["key_id"]
    assert checked.stdout == (
        f"valid: signed by key {key_id}, event {request_id} (deploy) decided approved (true) "
        "by ana (store), cy (store)\n"
    )

    data = (hitl_env.cwd / "ev.json").read_text()
    (hitl_env.cwd / "tampered.json").write_text(data.replace('"by": "cy"', '"by": "cz"', 1))
    (hitl_env.cwd / "cut.json").write_text(data[: len(data) // 2])
    (hitl_env.cwd / "text.json").write_text("approved, trust me")
    other = hitl("evidence", "keygen", "--out", "other.pem")
    assert other.code == 0
    for file, key, fault in (
        ("tampered.json", pub, "altered document"),
        ("ev.json", hitl_env.cwd / "other.pem.pub", "wrong key"),
        ("cut.json", pub, "not JSON"),
        ("text.json", pub, "not JSON"),
    ):
        refused = hitl("verify", file, "--public-key", str(key))
        assert refused.code == 1, file
        assert refused.error_line().startswith(f"error: {file}: {fault}"), refused.stderr

    unsigned = hitl("evidence", "export", request_id)
    assert unsigned.code == 0
    assert "HITL_EVIDENCE_KEY" in unsigned.stderr
    (hitl_env.cwd / "plain.json").write_text(unsigned.stdout)
    refused = hitl("verify", "plain.json", "--public-key", str(pub))
    assert refused.error_line().startswith("error: plain.json: not signed")


@pytest.fixture
def app(tmp_path: Path) -> Iterator[App]:
    """An app over the test's store folder (`tmp_path / "store"`) that requires tokens."""
    yield from _serve(tmp_path, with_tokens=True)


def test_through_an_app_the_token_votes_and_delegates(
    hitl: Hitl, hitl_env: HitlEnv, app: App, keys: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert app.store.root == hitl_env.store
    assert app.tokens_file is not None
    cy = create_token(app.tokens_file, "cy")
    policy = Policy(quorum=Quorum(2, of=["ana", "bo", "cy"]), delegation=True)
    request_id = ask(hitl_env, policy=policy, requested_by="dev")
    through = ("--endpoint", app.url)

    voted = hitl("answer", request_id, "yes", *through, "--token", app.tokens["ana"], "--by", "x")
    assert voted.code == 0, voted.stderr
    assert "; 1 of 2 approved." in voted.stdout
    handed = hitl("delegate", request_id, "eve", "--reason", "away", *through, "--token", cy)
    assert handed.code == 0, handed.stderr
    assert "Handed cy's place" in handed.stdout
    shown = hitl("show", request_id, *through, "--token", app.tokens["bo"]).stdout
    assert [v.split(":")[0] for v in rows(shown, "vote")] == ["ana"]
    assert rows(shown, "may answer") == ["bo, eve"]

    monkeypatch.setenv("HITL_EVIDENCE_KEY", str(keys))  # the app's key: it runs in this process
    exported = hitl("evidence", "export", request_id, "--out", "ev.json", *through, "--token", cy)
    assert exported.code == 0, exported.stderr
    checked = hitl("verify", "ev.json", "--public-key", str(keys) + ".pub")
    assert checked.code == 0, checked.stderr
    assert "had no decision when exported" in checked.stdout
