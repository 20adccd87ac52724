"""The closest names to one that is not known: "did you mean ...?" for stores and items."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def closest(name: str, known: Iterable[str], limit: int = 3) -> list[str]:
    """The known names nearest to ``name``: same letters in another case first, then the
    ones difflib finds alike."""
    names = list(dict.fromkeys(known))
    folded = name.casefold()
    same = [n for n in names if n.casefold() == folded]
    lower = {n.casefold(): n for n in names}
    alike = [lower[m] for m in difflib.get_close_matches(folded, list(lower), n=limit, cutoff=0.6)]
    return list(dict.fromkeys([*same, *alike]))[:limit]


def unknown(kind: str, name: str, known: Iterable[str]) -> str:
    """``no store named "berlin"; did you mean "Berlin"?``"""
    found = closest(name, known)
    message = f'no {kind} named "{name}"'
    if found:
        message += "; did you mean " + " or ".join(f'"{n}"' for n in found) + "?"
    return message
