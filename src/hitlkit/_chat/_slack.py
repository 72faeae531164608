"""(to be written)"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hitlkit._exceptions import ConfigurationError

if TYPE_CHECKING:
    from hitlkit._notify import Message
    from hitlkit._records import EventRecord
    from hitlkit._store import Store


def check_target(url: str) -> None:
    raise ConfigurationError(f"{url.partition('://')[0]}:// is not supported yet")


def send(
    store: Store, record: EventRecord, url: str, message: Message, *, kind: str, endpoint: str
) -> bool:
    raise NotImplementedError
