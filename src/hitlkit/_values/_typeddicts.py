"""`typing.TypedDict` on Python < 3.12, which pydantic refuses there, as the equal
`typing_extensions.TypedDict`, field by field and nested, so either spelling works.

```python
class Limits(typing.TypedDict):
    cpu: int

supported(dict[str, Limits])  # dict[str, <typing_extensions TypedDict Limits>]
```
"""

from __future__ import annotations

import sys
import typing
from typing import Any, get_args, get_origin, get_type_hints

import typing_extensions

__all__ = ["supported"]

_NEEDED = sys.version_info < (3, 12)


def supported(data_type: Any) -> Any:
    """`data_type` with every `typing.TypedDict` in it made one pydantic takes here."""
    if not _NEEDED:
        return data_type
    return _convert(data_type, {})


def _convert(data_type: Any, seen: dict[Any, Any]) -> Any:
    if _is_plain_typeddict(data_type):
        return _typeddict(data_type, seen)
    args = get_args(data_type)
    origin = get_origin(data_type)
    if not args or origin is None:
        return data_type
    if origin is typing.Annotated:
        params = (_convert(args[0], seen), *data_type.__metadata__)
        return typing.Annotated.__class_getitem__(params)
    if origin is typing.Literal:
        return data_type
    converted = tuple(_convert(arg, seen) for arg in args)
    if converted == args:
        return data_type
    if origin is typing.Union:
        return typing.Union[converted]  # noqa: UP007
    try:
        return data_type.copy_with(converted)  # typing aliases: Optional[...], List[...]
    except AttributeError:
        return origin[converted if len(converted) > 1 else converted[0]]


def _is_plain_typeddict(data_type: Any) -> bool:
    # typing_extensions' own TypedDict classes are made by a metaclass of its module.
    return typing.is_typeddict(data_type) and type(data_type).__module__ == "typing"


def _typeddict(data_type: Any, seen: dict[Any, Any]) -> Any:
    if data_type in seen:
        return seen[data_type]
    hints = get_type_hints(data_type, include_extras=True)
    optional = data_type.__optional_keys__
    fields = {
        name: typing_extensions.NotRequired[_convert(hint, seen)]
        if name in optional
        else typing_extensions.Required[_convert(hint, seen)]
        for name, hint in hints.items()
    }
    made: Any = typing_extensions.TypedDict(data_type.__name__, fields)  # type: ignore[misc]
    made.__doc__ = data_type.__doc__
    made.__module__ = data_type.__module__
    seen[data_type] = made
    return made
