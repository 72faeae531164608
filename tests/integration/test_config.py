"""Finding the store and the configuration file on real folders, and reading the file."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

import hitlkit
from hitlkit import _config
from hitlkit._config_file import LIMIT
from hitlkit._discovery import find_store, folders_up
from hitlkit._exceptions import ConfigurationError


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """`tmp/proj` with a subfolder `src/pkg` as the current folder; no HITL_STORE."""
    root = tmp_path / "proj"
    (root / "src" / "pkg").mkdir(parents=True)
    monkeypatch.chdir(root / "src" / "pkg")
    monkeypatch.delenv("HITL_STORE")
    return root


# -- the store, walking up ------------------------------------------------------


def test_a_subfolder_finds_the_projects_store(project: Path) -> None:
    (project / ".hitl").mkdir()

    choice = _config.store_choice()

    assert choice.url == str(project / ".hitl")
    assert choice.why == f"found walking up from {project / 'src' / 'pkg'}"
    assert _config.default_store_url() == str(project / ".hitl")


def test_the_nearest_store_wins(project: Path) -> None:
    (project / ".hitl").mkdir()
    (project / "src" / ".hitl").mkdir()

    assert _config.default_store_url() == str(project / "src" / ".hitl")


def test_without_a_store_up_a_new_one_is_made_here_and_the_search_is_told(
    project: Path, tmp_path: Path
) -> None:
    choice = _config.store_choice()

    assert choice.url == ".hitl"
    # The search stopped below the test's ceiling (the session's temporary folder).
    assert (
        choice.why == f"no .hitl found in {project / 'src' / 'pkg'} .. {tmp_path}: a new store here"
    )


def test_hitl_store_wins_over_a_store_found(
    project: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (project / ".hitl").mkdir()
    monkeypatch.setenv("HITL_STORE", str(tmp_path / "elsewhere"))

    assert _config.store_choice() == _config.StoreChoice(str(tmp_path / "elsewhere"), "HITL_STORE")


def test_a_file_that_is_not_a_folder_is_not_a_store(project: Path) -> None:
    (project / ".hitl").write_text("not a store")

    assert find_store().path is None


def test_the_search_stops_below_the_home_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    (home / "work" / "app").mkdir(parents=True)
    (home / ".hitl").mkdir()  # a store made in the home folder is no project's
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("HITL_CEILING_DIRECTORIES")

    assert folders_up(home / "work" / "app") == [home / "work" / "app", home / "work"]
    assert find_store(home / "work" / "app").path is None
    assert find_store(home).path == home / ".hitl"  # started in it, home is searched


def test_the_search_stops_at_a_ceiling_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "a" / "b" / "c").mkdir(parents=True)
    (tmp_path / "a" / ".hitl").mkdir()
    monkeypatch.setenv("HITL_CEILING_DIRECTORIES", str(tmp_path / "a"))

    assert folders_up(tmp_path / "a" / "b" / "c") == [
        tmp_path / "a" / "b" / "c",
        tmp_path / "a" / "b",
    ]
    assert find_store(tmp_path / "a" / "b" / "c").path is None


def test_the_search_does_not_cross_into_another_filesystem() -> None:
    shm = Path("/dev/shm")
    if not shm.is_dir() or shm.stat().st_dev == shm.parent.stat().st_dev:
        pytest.skip("no folder here whose parent is on another filesystem")
    inner = shm / f"hitlkit-test-{os.getpid()}" / "sub"
    inner.mkdir(parents=True)
    try:
        assert folders_up(inner) == [inner, inner.parent, shm]
    finally:
        inner.rmdir()
        inner.parent.rmdir()


def test_a_store_owned_by_someone_else_is_skipped_with_one_warning(
    project: Path, caplog: pytest.LogCaptureFixture
) -> None:
    if os.geteuid() != 0:
        pytest.skip("giving a folder to another user needs root")
    foreign = project / ".hitl"
    foreign.mkdir()
    os.chown(foreign, 12345, 12345)

    with caplog.at_level(logging.WARNING, logger="hitlkit.config"):
        first = _config.store_choice()
        second = _config.store_choice()

    assert first.url == second.url == ".hitl"  # a new store here instead
    [warning] = caplog.messages
    assert warning == (
        f"skipped the store {foreign}: it is owned by another user (uid 12345); "
        "set HITL_STORE or --store to use it anyway"
    )


def test_someone_elses_store_in_the_current_folder_is_never_used(
    project: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    if os.geteuid() != 0:
        pytest.skip("giving a folder to another user needs root")
    foreign = project / ".hitl"
    foreign.mkdir()
    os.chown(foreign, 12345, 12345)
    monkeypatch.chdir(project)

    with (
        caplog.at_level(logging.WARNING, logger="hitlkit.config"),
        pytest.raises(hitlkit.ConfigurationError, match="--store or HITL_STORE"),
    ):
        hitlkit.new_event("q", int, run_id="r", serve=False)

    assert list(foreign.iterdir()) == []
    assert "it is owned by another user (uid 12345)" in caplog.text


def test_a_linked_store_is_followed_when_link_and_folder_are_the_users(
    project: Path, tmp_path: Path
) -> None:
    (tmp_path / "shared").mkdir()
    (project / ".hitl").symlink_to(tmp_path / "shared")

    assert _config.default_store_url() == str(project / ".hitl")


def test_a_link_to_someone_elses_folder_is_skipped(
    project: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    if os.geteuid() != 0:
        pytest.skip("giving a folder to another user needs root")
    (tmp_path / "theirs").mkdir()
    os.chown(tmp_path / "theirs", 12345, 12345)
    (project / ".hitl").symlink_to(tmp_path / "theirs")

    with caplog.at_level(logging.WARNING, logger="hitlkit.config"):
        assert _config.default_store_url() == ".hitl"
    assert "is a symbolic link not owned, with its target, by this user" in caplog.text


# -- the configuration file -----------------------------------------------------


def test_settings_come_from_pyproject_in_a_folder_above(project: Path) -> None:
    (project / "pyproject.toml").write_text(
        '[project]\nname = "x"\n\n[tool.hitlkit]\n'
        'store = "events"\nendpoint = "http://127.0.0.1:9001"\nautostart = false\n'
        'remind_before = 90\ntokens_file = "secrets/tokens.json"\n'
    )

    assert _config.store_choice() == _config.StoreChoice(
        str(project / "events"), f"pyproject.toml [tool.hitlkit] at {project / 'pyproject.toml'}"
    )
    assert _config.default_endpoint() == "http://127.0.0.1:9001"
    assert _config.autostart() is False
    assert _config.remind_before() == 90
    # Relative paths are relative to the file's folder, not to the current one.
    assert _config.tokens_file() == str(project / "secrets" / "tokens.json")


def test_the_environment_beats_the_file_which_beats_the_default(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (project / "hitl.toml").write_text('endpoint = "http://127.0.0.1:9001"\nuser = "file-user"\n')
    monkeypatch.setenv("HITL_ENDPOINT", "http://127.0.0.1:9002")
    monkeypatch.delenv("HITL_USER")

    assert _config.default_endpoint() == "http://127.0.0.1:9002"
    assert _config.setting("endpoint").source == "HITL_ENDPOINT"
    assert _config.current_user() == "file-user"
    assert _config.setting("user").source == f"hitl.toml at {project / 'hitl.toml'}"
    assert _config.setting("store_mode") == _config.Setting(None, "default", "HITL_STORE_MODE")
    assert _config.store_mode() == "private"


def test_a_pyproject_without_the_table_does_not_stop_the_search(project: Path) -> None:
    (project / "src" / "pyproject.toml").write_text('[project]\nname = "inner"\n')
    (project / "hitl.toml").write_text("max_concurrency = 7\n")

    assert _config.count("HITL_MAX_CONCURRENCY", 1000) == 7


def test_hitl_toml_is_read_before_pyproject_in_one_folder(project: Path) -> None:
    (project / "pyproject.toml").write_text("[tool.hitlkit]\nport = 1\n")
    (project / "hitl.toml").write_text("port = 2\n")

    assert _config.setting("port").value == "2"


def test_an_edited_file_is_read_again(project: Path) -> None:
    config = project / "hitl.toml"
    config.write_text("headers_timeout = 3\n")
    assert _config.seconds("HITL_HEADERS_TIMEOUT", 10) == 3
    config.write_text("headers_timeout = 4.5\n")
    assert _config.seconds("HITL_HEADERS_TIMEOUT", 10) == 4.5


@pytest.mark.parametrize(
    ("key", "variable"),
    [
        ("secret", "HITL_SECRET"),
        ("token", "HITL_TOKEN"),
        ("secret_previous", "HITL_SECRET_PREVIOUS"),
    ],
)
def test_secrets_are_refused_in_the_file(project: Path, key: str, variable: str) -> None:
    (project / "hitl.toml").write_text(f'{key} = "s3cr3t-value"\n')

    with pytest.raises(ConfigurationError) as refused:
        _config.current_user()

    message = str(refused.value)
    assert message.startswith(f"hitl.toml at {project / 'hitl.toml'}: {key} is a secret")
    assert f"set {variable} in the environment instead" in message
    assert "tokens_file" not in message  # it holds API token hashes, not this secret
    assert "s3cr3t-value" not in message


def test_notification_urls_are_refused_in_the_file(project: Path) -> None:
    (project / "hitl.toml").write_text('notify = "slack://T000/B000/XXXX"\n')

    with pytest.raises(ConfigurationError, match=r"set HITL_NOTIFY \(its URLs carry credentials\)"):
        _config.autostart()


def test_an_unknown_key_names_the_file_and_a_close_match(project: Path) -> None:
    (project / "pyproject.toml").write_text("[tool.hitlkit]\nendpont = 'http://x'\n")

    with pytest.raises(ConfigurationError) as refused:
        _config.default_endpoint()

    assert str(refused.value).startswith(
        f"pyproject.toml [tool.hitlkit] at {project / 'pyproject.toml'}: unknown key 'endpont'; "
        "did you mean 'endpoint'? known keys: allowed_hosts, approvers, archive, autostart,"
    )


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('autostart = "no"', "autostart must be true or false, got 'no' (a string)"),
        ("port = 80.5", "port must be a whole number, got 80.5 (a number)"),
        ("store = 3", "store must be a string (a path or URL), got 3 (an integer)"),
        (
            "allowed_hosts = [1]",
            "allowed_hosts must be a list of strings (or one string), got [1] (a list)",
        ),
    ],
)
def test_a_value_of_the_wrong_type_names_the_file_and_key(
    project: Path, line: str, expected: str
) -> None:
    (project / "hitl.toml").write_text(line + "\n")

    with pytest.raises(ConfigurationError) as refused:
        _config.autostart()

    assert str(refused.value) == f"hitl.toml at {project / 'hitl.toml'}: {expected}"


def test_a_bad_value_from_the_file_is_named_by_its_key_and_file(project: Path) -> None:
    (project / "hitl.toml").write_text('store_mode = "shared"\n')

    with pytest.raises(ConfigurationError) as refused:
        _config.store_mode()

    assert str(refused.value) == (
        f"store_mode in hitl.toml at {project / 'hitl.toml'} must be private or group, got 'shared'"
    )


def test_a_file_that_is_not_toml_is_named(project: Path) -> None:
    (project / "hitl.toml").write_text("store = \n")

    with pytest.raises(ConfigurationError, match=r"hitl\.toml is not valid TOML"):
        _config.autostart()


def test_a_configuration_file_of_someone_elses_is_skipped_with_a_warning(
    project: Path, caplog: pytest.LogCaptureFixture
) -> None:
    if os.geteuid() != 0:
        pytest.skip("giving a file to another user needs root")
    (project / "hitl.toml").write_text("port = 1\n")
    planted = project / "src" / "hitl.toml"
    planted.write_text('store = "/somewhere/theirs"\n')
    os.chown(planted, 12345, 12345)

    with caplog.at_level(logging.WARNING, logger="hitlkit.config"):
        assert _config.setting("port").value == "1"  # the search went on past it
        assert _config.setting("store").value is None

    assert caplog.messages == [
        f"skipped the configuration file {planted}: it is owned by another user (uid 12345); "
        "it is ignored"
    ]


# -- a configuration file another user planted ----------------------------------

THEIRS = 12345
"""A user id of nobody here: files given to it stand for another user's."""


def needs_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("giving a file to another user needs root")


def test_a_link_another_user_planted_to_a_root_file_is_skipped(
    project: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    needs_root()
    # A root-owned file whose relative store, read from the link's folder, would be theirs.
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "hitl.toml").write_text('store = ".hitl"\n')
    shared = project / "src"
    (shared / ".hitl").mkdir(mode=0o777)
    os.chown(shared / ".hitl", THEIRS, THEIRS)
    planted = shared / "hitl.toml"
    planted.symlink_to(tmp_path / "etc" / "hitl.toml")
    os.lchown(planted, THEIRS, THEIRS)
    (project / "hitl.toml").write_text("port = 1\n")

    with caplog.at_level(logging.WARNING, logger="hitlkit.config"):
        assert _config.setting("port").value == "1"  # the search went on past it
        assert _config.setting("store").value is None
        assert _config.store_choice().url == ".hitl"  # a new store here, not theirs

    assert caplog.messages == [
        f"skipped the configuration file {planted}: it is a symbolic link owned by another "
        f"user (uid {THEIRS}); it is ignored",
        f"skipped the store {shared / '.hitl'}: it is owned by another user (uid {THEIRS}); "
        "set HITL_STORE or --store to use it anyway",
    ]


def test_the_users_own_linked_file_is_read_with_paths_from_its_real_folder(
    project: Path, tmp_path: Path
) -> None:
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "hitl.toml").write_text('store = ".hitl"\ntokens_file = "t.json"\n')
    (project / "hitl.toml").symlink_to(tmp_path / "conf" / "hitl.toml")

    assert _config.store_choice() == _config.StoreChoice(
        str(tmp_path / "conf" / ".hitl"), f"hitl.toml at {project / 'hitl.toml'}"
    )
    assert _config.tokens_file() == str(tmp_path / "conf" / "t.json")


def test_the_users_link_to_another_users_file_is_skipped(
    project: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    needs_root()
    theirs = tmp_path / "theirs.toml"
    theirs.write_text('store = "/somewhere/theirs"\n')
    os.chown(theirs, THEIRS, THEIRS)
    (project / "hitl.toml").symlink_to(theirs)

    with caplog.at_level(logging.WARNING, logger="hitlkit.config"):
        assert _config.setting("store").value is None

    assert caplog.messages == [
        f"skipped the configuration file {project / 'hitl.toml'}: it is a symbolic link to "
        f"{theirs}, owned by another user (uid {THEIRS}); it is ignored"
    ]


def plant_fifo(path: Path) -> None:
    os.mkfifo(path)


def plant_sparse(path: Path) -> None:
    path.touch()
    os.truncate(path, 2 << 30)  # 2 GiB of nothing: instant, and no memory would hold it


def plant_zero(path: Path) -> None:
    path.symlink_to("/dev/zero")


def plant_passwd(path: Path) -> None:
    path.symlink_to("/etc/passwd")


def plant_nested(path: Path) -> None:
    path.write_text("a = " + "[" * 100_000 + "]" * 100_000 + "\n")


PLANTS = {
    "fifo": plant_fifo,
    "sparse": plant_sparse,
    "zero": plant_zero,
    "passwd": plant_passwd,
    "nested": plant_nested,
}


@pytest.mark.timeout(10)  # a regression hangs on the FIFO or /dev/zero: fail instead
@pytest.mark.parametrize("kind", list(PLANTS))
@pytest.mark.parametrize("name", ["hitl.toml", "pyproject.toml"])
def test_a_hostile_file_another_user_planted_is_skipped(
    project: Path, kind: str, name: str, caplog: pytest.LogCaptureFixture
) -> None:
    needs_root()
    (project / "hitl.toml").write_text("port = 1\n")
    planted = project / "src" / name
    PLANTS[kind](planted)
    os.lchown(planted, THEIRS, THEIRS)

    with caplog.at_level(logging.WARNING, logger="hitlkit.config"):
        assert _config.setting("port").value == "1"  # the search went on past it

    why = {
        "fifo": "is not a regular file (a FIFO)",
        "sparse": f"is larger than a configuration file may be ({2 << 30} bytes; "
        "at most 1048576, 1 MiB)",
        "zero": f"is a symbolic link owned by another user (uid {THEIRS})",
        "passwd": f"is a symbolic link owned by another user (uid {THEIRS})",
        "nested": None,  # their broken file: skipped without a word, as any other
    }[kind]
    told = [f"skipped the configuration file {planted}: it {why}; it is ignored"]
    assert caplog.messages == (told if why else [])


@pytest.mark.timeout(10)
@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("fifo", "is not a regular file (a FIFO)"),
        ("sparse", "is larger than a configuration file may be (2147483648 bytes; at most"),
        ("zero", "is not a regular file (a device)"),
        ("passwd", "is not valid TOML"),
        ("nested", "cannot be read: its arrays or tables are nested too deeply"),
    ],
)
def test_the_users_own_unreadable_file_is_one_error_naming_it(
    project: Path, kind: str, expected: str
) -> None:
    PLANTS[kind](project / "hitl.toml")

    with pytest.raises(ConfigurationError) as refused:
        _config.setting("port")

    assert str(refused.value).startswith(f"{project / 'hitl.toml'} {expected}")


def test_a_file_that_is_not_utf8_is_named(project: Path) -> None:
    (project / "hitl.toml").write_bytes(b'user = "\xff"\n')

    with pytest.raises(ConfigurationError) as refused:
        _config.setting("user")

    assert str(refused.value) == (
        f"{project / 'hitl.toml'} is not UTF-8 text: invalid start byte at byte 8"
    )


def test_a_file_at_the_size_limit_is_read(project: Path) -> None:
    line = "port = 1\n"
    (project / "hitl.toml").write_text(line + "#" * (LIMIT - len(line) - 1) + "\n")
    assert (project / "hitl.toml").stat().st_size == LIMIT

    assert _config.setting("port").value == "1"

    (project / "hitl.toml").write_text(line + "#" * (LIMIT - len(line)) + "\n")
    with pytest.raises(ConfigurationError, match=r"\(1048577 bytes; at most 1048576, 1 MiB\)"):
        _config.setting("port")
