"""The CLI's --json is ``json.dumps(value, indent=2)`` to the byte, however it is written
(``cli.output`` writes long lists of flat objects with the C encoder)."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stdout
from dataclasses import dataclass
from typing import Any, NamedTuple

from hypothesis import given
from hypothesis import strategies as st

from stockwatch.cli.output import _indented, _tuples_indented, emit
from stockwatch.core.rows import to_json

# Strings that could be mistaken for the layout: separators, new lines, braces, escapes.
_TEXT = st.text(alphabet=st.sampled_from(list('ab},{\n\\"é😀\u2028 :[]')), max_size=12)
_SCALAR = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), _TEXT)
_FLAT = st.dictionaries(_TEXT, _SCALAR, min_size=1, max_size=5)
_ANY = st.recursive(_SCALAR, lambda inner: st.lists(inner) | st.dictionaries(_TEXT, inner))


@given(st.lists(_FLAT, max_size=6))
def test_a_list_of_flat_objects_is_laid_out_as_indent_2(value: list[dict[str, Any]]) -> None:
    assert _indented(value) == json.dumps(value, indent=2, ensure_ascii=False)


@given(_ANY)
def test_anything_else_is_laid_out_as_indent_2(value: Any) -> None:
    assert _indented(value) == json.dumps(value, indent=2, ensure_ascii=False)


class _Line(NamedTuple):
    name: str
    units: int
    parts: list[Any]


@dataclass
class _Part:
    sku: str


def test_a_named_tuple_is_an_object_of_its_fields_rows_within_it_too() -> None:
    assert to_json([_Line("a", 1, [])]) == [{"name": "a", "units": 1, "parts": []}]
    nested = _Line("b", 2, [_Part("x"), _Line("c", 3, [])])
    assert to_json(nested) == {
        "name": "b",
        "units": 2,
        "parts": [{"sku": "x"}, {"name": "c", "units": 3, "parts": []}],
    }


class _Row(NamedTuple):
    store: str
    units: Any
    note: Any


# NUL too: the named tuples' layout puts one between values.
_TEXT_NUL = st.text(alphabet=st.sampled_from(list('a},{\n\\"é\x00 :[]')), max_size=12)
_ROWS = st.lists(st.builds(_Row, _TEXT_NUL, _SCALAR | _TEXT_NUL, _SCALAR), max_size=6)


@given(_ROWS)
def test_named_tuples_of_plain_values_are_laid_out_as_their_objects(rows: list[_Row]) -> None:
    expected = json.dumps(to_json(list(rows)), indent=2, ensure_ascii=False)
    if rows:
        assert _tuples_indented(rows) == expected
    assert _printed(rows) == expected + "\n"


def _printed(rows: list[Any]) -> str:
    """What ``emit`` prints for --json."""
    out = io.StringIO()
    with redirect_stdout(out):
        emit(rows, "json", ("store",), lambda r: (r.store,), "none")
    return out.getvalue()


def test_rows_of_mixed_kinds_or_values_take_the_general_way() -> None:
    mixed = [_Row("a", 1, None), _Line("b", 2, [])]
    assert _tuples_indented(mixed) is None
    assert _tuples_indented([_Row("a", [1], None)]) is None
    assert _printed(mixed) == json.dumps(to_json(mixed), indent=2) + "\n"
