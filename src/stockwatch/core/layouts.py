"""The files store systems export, read as stockwatch rows: layouts and column mappings.

A manager can get an inventory file out of their point-of-sale system, not a
``store,item,count`` file. Each layout here names the columns it reads, is recognised from
the header row alone, and turns one line of the file into zero or more rows (a wide export
has one count column per location). A file no layout recognises loads after its columns
are mapped once (``--columns "store=Location,item=Name,count=Qty"``), or is rejected whole
with a message that names the closest layout and the ``--columns`` line that would load it.

Pure: no I/O. The reader (``core.reader``) feeds it the header and each line's fields.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

NATIVE = "stockwatch"
# store, item, count text, sku, the count's column, minimum text ("": none)
Emit = tuple[str, str, str, str, str, str]


class LayoutError(ValueError):
    """A forced layout or a column mapping that cannot read this file (or is malformed)."""


@dataclass(frozen=True)
class Layout:
    name: str
    system: str
    reads: str  # what it reads, for ``stockwatch layouts`` and the docs
    required: tuple[str, ...]  # header names (lower case) it needs; a prefix ends in "*"


# A batch of lines (each ``width`` fields) as columns: the positions of the lines that give
# a row (None: all), and their stores, items and counts, stripped.
Columns = tuple[list[int] | None, list[str], list[str], list[str]]


@dataclass
class Plan:
    """How one file's lines become rows: built from its header by a layout.

    ``expand`` reads one line; ``columnar``, for layouts of one row per line, reads a whole
    batch column by column, which is what lets a large export load nearly as fast as a
    native file (the reader checks the result as it checks native batches).
    """

    layout: str
    width: int
    expand: Callable[[Sequence[str]], list[Emit]] = field(repr=False)
    columnar: Callable[[list[list[str]]], Columns] | None = field(default=None, repr=False)
    # For ``columnar``: the columns of each line's SKU and minimum (``core.details``).
    sku_at: int | None = None
    min_at: int | None = None
    min_column: str = "min"  # how a bad minimum's column is named to people


LAYOUTS: tuple[Layout, ...] = (
    Layout(
        NATIVE,
        "stockwatch",
        "store, item, count (any order, more columns ignored)",
        ("store", "item", "count"),
    ),
    Layout(
        "shopify",
        "Shopify inventory export",
        "store = Location, count = Available, item = Title (plus ' - ' and the option values"
        " joined by ' / ', unless the only value is 'Default Title'), sku = SKU;"
        " 'not stocked' gives no row",
        ("title", "location", "available"),
    ),
    Layout(
        "square",
        "Square item library export",
        "one row per location L with a 'Current Quantity L' value (blank: not stocked there);"
        " item = 'Item Name - Variation Name' unless the variation is 'Regular', sku = SKU;"
        " minimum = 'Stock Alert Count L' where 'Stock Alert Enabled L' is Y",
        ("item name", "current quantity *"),
    ),
    Layout(
        "lightspeed-x",
        "Lightspeed Retail X-Series (Vend) product export",
        "store = the outlet of each 'inventory_<Outlet>' column (underscores read as spaces),"
        " item = name plus the variant_option_*_value joined as for shopify, sku = sku,"
        " minimum = reorder_point_<Outlet>; a blank inventory cell gives no row",
        ("name", "inventory_*"),
    ),
    Layout(
        "lightspeed-r",
        "Lightspeed Retail R-Series item export",
        "store = the shop of each '<Shop> - Quantity on Hand' column, item = Description,"
        " sku = Custom SKU (or System ID)",
        ("description", "* - quantity on hand"),
    ),
)
BY_NAME = {layout.name: layout for layout in LAYOUTS}
COLUMN_ROLES = ("store", "item", "count", "sku", "min")


# How a required column is shown to people: the header as the system writes it.
_SHOWN = {
    "title": "Title",
    "location": "Location",
    "available": "Available",
    "item name": "Item Name",
    "current quantity *": "Current Quantity <location>",
    "name": "name",
    "inventory_*": "inventory_<outlet>",
    "description": "Description",
    "* - quantity on hand": "<shop> - Quantity on Hand",
}


def shown_columns(required: Sequence[str]) -> list[str]:
    return [_SHOWN.get(r, r) for r in required]


@dataclass(frozen=True)
class SavedLayout:
    """A column mapping kept under a name, so a file is mapped once: ``--layout NAME``
    uses it, and so does an upload that names only its store (``--store``), when the
    mapping was saved for that store."""

    name: str
    columns: str
    store: str | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "system": "saved mapping" + (f" for {self.store}" if self.store else ""),
            "needs": list(parse_columns(self.columns).values()),
            "reads": f"--columns {self.columns!r}"
            + (f" --store {self.store!r}" if self.store else ""),
            "columns": self.columns,
            "store": self.store,
        }


NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,39}")


def check_saved(saved: SavedLayout) -> None:
    """Raises ``LayoutError`` for a name or mapping that could not be used."""
    if not NAME.fullmatch(saved.name):
        raise LayoutError(
            f"a layout name is 1 to 40 letters, digits, '.', '_' or '-': not {saved.name!r}"
        )
    if saved.name in BY_NAME:
        raise LayoutError(f"{saved.name} is a built-in layout; choose another name")
    mapping = parse_columns(saved.columns)
    if "store" not in mapping and not saved.store:
        raise LayoutError("--columns names no store= column: give the store with --store NAME")


def wants_saved(reading: dict[str, str]) -> bool:
    """Whether reading this upload may need the saved mappings (most do not: no request)."""
    layout = reading.get("layout")
    if layout is not None:
        return layout not in BY_NAME
    return bool(reading.get("store")) and not reading.get("columns")


def resolve(reading: dict[str, str], saved: dict[str, SavedLayout]) -> dict[str, str]:
    """An upload's reading options with a saved mapping put in: by its name, or as the
    mapping saved for the store the upload names."""
    layout, store = reading.get("layout"), reading.get("store")
    chosen = saved.get(layout) if layout else None
    if chosen is None and not layout and not reading.get("columns") and store:
        chosen = next((s for s in saved.values() if s.store == store), None)
    if chosen is None:
        return reading
    found = {k: v for k, v in reading.items() if k != "layout"}
    found["columns"] = chosen.columns
    found["saved"] = chosen.name  # the report names the mapping it was read with
    if not layout:
        found["by_store"] = "1"  # only the store was named: a layout the header shows wins
    if chosen.store and not store:
        found["store"] = chosen.store
    return found


def describe(saved: Sequence[SavedLayout] = ()) -> list[dict[str, object]]:
    """The layouts as ``stockwatch layouts --json`` and ``GET /api/layouts`` list them."""
    found: list[dict[str, object]] = [
        {"name": x.name, "system": x.system, "needs": shown_columns(x.required), "reads": x.reads}
        for x in LAYOUTS
    ]
    return found + [s.to_json() for s in saved]


def _has(names: Sequence[str], wanted: str) -> bool:
    if wanted.endswith("*"):
        return any(n.startswith(wanted[:-1]) and len(n) > len(wanted) - 1 for n in names)
    if wanted.startswith("*"):
        return any(n.endswith(wanted[1:]) and len(n) > len(wanted) - 1 for n in names)
    return wanted in names


def missing(layout: Layout, header: Sequence[str]) -> list[str]:
    names = [h.strip().lower() for h in header]
    return [w for w in layout.required if not _has(names, w)]


def detect(header: Sequence[str]) -> Layout | None:
    """The layout whose columns the header has (the native one first), or None."""
    for layout in LAYOUTS:
        if not missing(layout, header):
            return layout
    return None


def closest(header: Sequence[str]) -> tuple[Layout, list[str]]:
    """The layout missing the fewest of its columns, and what it misses."""
    scored = [(len(missing(x, header)) / len(x.required), n, x) for n, x in enumerate(LAYOUTS)]
    _, _, best = min(scored)
    return best, missing(best, header)


def suggest_columns(header: Sequence[str]) -> str:
    """A ``--columns`` line for this header: each role given the likeliest column."""
    hints = {
        "store": ("store", "location", "shop", "outlet", "branch", "site", "warehouse"),
        "item": ("item", "product", "name", "title", "description", "article"),
        "count": ("count", "quantity", "qty", "on hand", "stock", "available", "inventory"),
    }
    chosen: list[str] = []
    taken: set[str] = set()
    for role, words in hints.items():
        pick = next(
            (
                h.strip()
                for word in words
                for h in header
                if word in h.strip().lower() and h.strip() and h.strip() not in taken
            ),
            None,
        )
        if pick is None:
            pick = "<column>" if role != "store" else None
            if pick is None:
                continue
        taken.add(pick)
        chosen.append(f"{role}={pick}")
    return ",".join(chosen)


def parse_columns(text: str) -> dict[str, str]:
    """``store=H,item=H,count=H[,sku=H][,min=H]`` -> role -> header name."""
    mapping: dict[str, str] = {}
    for part in text.split(","):
        if not part.strip():
            continue
        role, sep, header = part.partition("=")
        role = role.strip().lower()
        if not sep or not header.strip():
            raise LayoutError(f"--columns: {part.strip()!r} is not ROLE=HEADER")
        if role not in COLUMN_ROLES:
            raise LayoutError(
                f"--columns: unknown role {role!r}; the roles are {', '.join(COLUMN_ROLES)}"
            )
        if role in mapping:
            raise LayoutError(f"--columns: {role} is given twice")
        mapping[role] = header.strip()
    for role in ("item", "count"):
        if role not in mapping:
            raise LayoutError(f"--columns: {role}= is missing")
    return mapping


def plan(
    header: Sequence[str],
    layout: str | None = None,
    columns: str | None = None,
    store: str | None = None,
) -> Plan | None:
    """How to read a file with this header; None when no layout recognises it (the
    caller rejects the file, naming ``closest``). A forced layout or mapping that does
    not fit raises ``LayoutError``."""
    names = [h.strip() for h in header]
    lower = [n.lower() for n in names]
    if columns:
        return _mapped(names, lower, parse_columns(columns), store)
    if layout is not None:
        chosen = BY_NAME.get(layout)
        if chosen is None:
            raise LayoutError(f"unknown layout {layout!r}; the layouts are {', '.join(BY_NAME)}")
        lacking = missing(chosen, names)
        if lacking:
            raise LayoutError(
                f"the header is not the {layout} layout's: it lacks "
                + ", ".join(shown_columns(lacking))
            )
    else:
        found = detect(names)
        if found is None:
            if store is not None:  # a one-store file: store column may be absent
                return _mapped_guess(names, lower, store)
            return None
        chosen = found
    return _BUILDERS[chosen.name](names, lower, store)


def _index(lower: list[str], name: str) -> int | None:
    return lower.index(name) if name in lower else None


def _cell(fields: Sequence[str], index: int | None) -> str:
    if index is None or index >= len(fields):
        return ""
    return fields[index].strip()


def _variant(base: str, values: list[str]) -> str:
    values = [v for v in values if v]
    if not values or values == ["Default Title"]:
        return base
    return f"{base} - {' / '.join(values)}"


def _stripped(column: Sequence[str]) -> list[str]:
    return list(map(str.strip, column))


def _native(names: list[str], lower: list[str], store: str | None) -> Plan:
    si, ii, ci = lower.index("store"), lower.index("item"), lower.index("count")

    def columnar(batch: list[list[str]]) -> Columns:
        columns = list(zip(*batch, strict=True))
        return None, _stripped(columns[si]), _stripped(columns[ii]), _stripped(columns[ci])

    return Plan(
        NATIVE,
        len(names),
        lambda f: [(_cell(f, si), _cell(f, ii), _cell(f, ci), "", "count", "")],
        columnar,
    )


def _shopify(names: list[str], lower: list[str], store: str | None) -> Plan:
    title, where, available = (lower.index(n) for n in ("title", "location", "available"))
    sku = _index(lower, "sku")
    options = [i for i, n in enumerate(lower) if re.fullmatch(r"option\d+ value", n)]

    def expand(f: Sequence[str]) -> list[Emit]:
        count = _cell(f, available)
        if count.lower() == "not stocked":
            return []
        item = _variant(_cell(f, title), [_cell(f, i) for i in options])
        return [(_cell(f, where) or (store or ""), item, count, _cell(f, sku), "Available", "")]

    def columnar(batch: list[list[str]]) -> Columns:
        columns = list(zip(*batch, strict=True))
        counts = _stripped(columns[available])
        odd = [k for k, c in enumerate(counts) if not c.isdigit()]
        kept: list[int] | None = None
        if any(counts[k].lower() == "not stocked" for k in odd):
            kept = [k for k, c in enumerate(counts) if c.lower() != "not stocked"]
        titles = _stripped(columns[title])
        if options:
            values = zip(*(_stripped(columns[i]) for i in options), strict=True)
            # as ``_variant``, inlined: this runs for every line of a large export
            items = [
                t
                if not (j := " / ".join(filter(None, v))) or j == "Default Title"
                else f"{t} - {j}"
                for t, v in zip(titles, values, strict=True)
            ]
        else:
            items = titles
        stores = _stripped(columns[where])
        if kept is not None:
            stores, items, counts = (
                [stores[k] for k in kept],
                [items[k] for k in kept],
                [counts[k] for k in kept],
            )
        return kept, stores, items, counts

    return Plan("shopify", len(names), expand, columnar, sku_at=sku)


MinimumOf = Callable[[Sequence[str], str], str]


def _wide(
    layout: str,
    names: list[str],
    places: list[tuple[int, str]],
    item_of: Callable[[Sequence[str]], str],
    sku_of: Callable[[Sequence[str]], str],
    min_of: MinimumOf | None = None,
) -> Plan:
    """A wide export: a row for each location column (index, place) with a value;
    ``min_of`` gives the line's minimum for a place ("" for none)."""

    def expand(f: Sequence[str]) -> list[Emit]:
        item, sku = item_of(f), sku_of(f)
        return [
            (place, item, _cell(f, i), sku, names[i], min_of(f, place) if min_of else "")
            for i, place in places
            if _cell(f, i)
        ]

    return Plan(layout, len(names), expand)


def _per_place(lower: list[str], prefix: str, suffix: str = "") -> dict[str, int]:
    """The columns named ``<prefix><place><suffix>``, by place (lower case)."""
    return {
        n[len(prefix) : len(n) - len(suffix)].strip(): i
        for i, n in enumerate(lower)
        if n.startswith(prefix) and n.endswith(suffix) and len(n) > len(prefix) + len(suffix)
    }


def _square(names: list[str], lower: list[str], store: str | None) -> Plan:
    item_name = lower.index("item name")
    variation = _index(lower, "variation name")
    sku = _index(lower, "sku")
    prefix = "current quantity "
    places = [
        (i, names[i][len(prefix) :].strip()) for i, n in enumerate(lower) if n.startswith(prefix)
    ]

    alert_count = _per_place(lower, "stock alert count ")
    alert_on = _per_place(lower, "stock alert enabled ")

    def item_of(f: Sequence[str]) -> str:
        base, kind = _cell(f, item_name), _cell(f, variation)
        return base if kind in ("", "Regular") else f"{base} - {kind}"

    def min_of(f: Sequence[str], place: str) -> str:
        # Square keeps an alert count per location; it is the item's minimum only where
        # the alert is switched on there.
        key = place.lower()
        if _cell(f, alert_on.get(key)).upper() not in ("Y", "YES", "TRUE"):
            return ""
        return _cell(f, alert_count.get(key))

    return _wide("square", names, places, item_of, lambda f: _cell(f, sku), min_of)


def _lightspeed_x(names: list[str], lower: list[str], store: str | None) -> Plan:
    name = lower.index("name")
    sku = _index(lower, "sku")
    options = [i for i, n in enumerate(lower) if re.fullmatch(r"variant_option_\w+_value", n)]
    places = [
        (i, names[i][len("inventory_") :].replace("_", " ").strip())
        for i, n in enumerate(lower)
        if n.startswith("inventory_")
    ]

    reorder = {
        place.replace("_", " ").strip(): i
        for place, i in _per_place(lower, "reorder_point_").items()
    }

    def item_of(f: Sequence[str]) -> str:
        return _variant(_cell(f, name), [_cell(f, i) for i in options])

    def min_of(f: Sequence[str], place: str) -> str:
        return _cell(f, reorder.get(place.lower()))

    return _wide("lightspeed-x", names, places, item_of, lambda f: _cell(f, sku), min_of)


def _lightspeed_r(names: list[str], lower: list[str], store: str | None) -> Plan:
    description = lower.index("description")
    sku = _index(lower, "custom sku")
    system_id = _index(lower, "system id")
    suffix = " - quantity on hand"
    places = [
        (i, names[i][: -len(suffix)].strip()) for i, n in enumerate(lower) if n.endswith(suffix)
    ]
    return _wide(
        "lightspeed-r",
        names,
        places,
        lambda f: _cell(f, description),
        lambda f: _cell(f, sku) or _cell(f, system_id),
    )


def _mapped(names: list[str], lower: list[str], mapping: dict[str, str], store: str | None) -> Plan:
    found: dict[str, int] = {}
    for role, header in mapping.items():
        if header.lower() not in lower:
            raise LayoutError(
                f"--columns: the file has no column {header!r} (for {role}); its columns are "
                + ", ".join(names[:20])
            )
        found[role] = lower.index(header.lower())
    if "store" not in found and not store:
        raise LayoutError("--columns names no store= column: give the store with --store NAME")
    si, ii, ci, ki = found.get("store"), found["item"], found["count"], found.get("sku")
    mi = found.get("min")
    count_name = names[ci]

    def expand(f: Sequence[str]) -> list[Emit]:
        where = _cell(f, si) if si is not None else (store or "")
        return [(where, _cell(f, ii), _cell(f, ci), _cell(f, ki), count_name, _cell(f, mi))]

    def columnar(batch: list[list[str]]) -> Columns:
        columns = list(zip(*batch, strict=True))
        stores = _stripped(columns[si]) if si is not None else [store or ""] * len(batch)
        return None, stores, _stripped(columns[ii]), _stripped(columns[ci])

    return Plan(
        "columns",
        len(names),
        expand,
        columnar,
        sku_at=ki,
        min_at=mi,
        min_column=names[mi] if mi is not None else "min",
    )


def _mapped_guess(names: list[str], lower: list[str], store: str) -> Plan | None:
    """``--store`` with a header of item and count only: the native layout for one store."""
    if "item" in lower and "count" in lower:
        return _mapped(names, lower, {"item": "item", "count": "count"}, store)
    return None


_BUILDERS: dict[str, Callable[[list[str], list[str], str | None], Plan]] = {
    NATIVE: _native,
    "shopify": _shopify,
    "square": _square,
    "lightspeed-x": _lightspeed_x,
    "lightspeed-r": _lightspeed_r,
}

_THOUSANDS = re.compile(r"-?\d{1,3}(,\d{3})+")
_WHOLE_DECIMAL = re.compile(r"-?\d+\.0*")


def count_text(text: str) -> tuple[int | None, str | None]:
    """A count as store systems write it: ``5``, `` 5 ``, ``5.0``, ``1,234`` (numbers a
    spreadsheet kept as text), ``-3`` (oversold, which store systems export: the item is out
    of stock). Returns (value, None) or (None, why it is not a count)."""
    value = text.strip().replace("\u00a0", "")
    if _THOUSANDS.fullmatch(value):
        value = value.replace(",", "")
    if _WHOLE_DECIMAL.fullmatch(value):
        value = value.split(".")[0]
    if value.isascii() and value.isdigit():
        return int(value), None
    if value.startswith("-") and value[1:].isascii() and value[1:].isdigit():
        return int(value), None  # oversold: out of stock, shown as such
    return None, "is not a whole number"
