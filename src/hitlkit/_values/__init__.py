"""Answer values: from a `data_type` to its schema, form, text and JSON readers, and storage.

One `ValueAdapter` per answer type (`adapter_for` a Python type, `adapter_of` an event's
record) reads every answer, whatever the channel: text typed in a form field or the CLI
(`parse_text`, `parse_form`), JSON from the API or Python (`validate_json`, `dump`); all
give the JSON that is stored, and `load` gives it back as the Python type.

- `_kinds`: the rules of each scalar kind (int, float, str, bool, date, datetime, time,
  Decimal), one entry each;
- `_shape`: what a JSON Schema asks for, node by node;
- `_check`: reading text and checking JSON, with errors field by field, and
  `_patterns` (a schema's patterns, matched in linear time);
- `_forms`: the form's fields, for the page and the CLI;
- `_limits`: a field's constraints as a hint and as the browser's checks, with `_regex`
  (a pattern in JavaScript, where it means the same) and `_decimals` (a Decimal's
  constraints, recorded and checked as pydantic does);
- `_posted`: reading posted form fields;
- `_adapter`: the adapters, built once per type.
"""

from hitlkit._values._adapter import (
    Named,
    Recorded,
    Validation,
    ValueAdapter,
    adapter_for,
    adapter_of,
    canonical_json,
    to_json,
)
from hitlkit._values._check import MISSING
from hitlkit._values._forms import FormField, Option, error_names
from hitlkit._values._kinds import KINDS, Kind
from hitlkit._values._shape import SUPPORTED, Shape, UnsupportedSchema, option_text

__all__ = [
    "KINDS",
    "MISSING",
    "SUPPORTED",
    "FormField",
    "Kind",
    "Named",
    "Option",
    "Recorded",
    "Shape",
    "UnsupportedSchema",
    "Validation",
    "ValueAdapter",
    "adapter_for",
    "adapter_of",
    "canonical_json",
    "error_names",
    "option_text",
    "to_json",
]
