"""Benchmarks time stockwatch as an installed package runs: with its modules' bytecode
compiled, as pip compiles it at install. A checkout run with ``PYTHONDONTWRITEBYTECODE=1``
(this project's machines set it) compiles every module changed since its last ``.pyc`` at
each start instead: up to a tenth of a second of every whole-process figure."""

from __future__ import annotations

import compileall
from pathlib import Path

import stockwatch


def compile_package() -> None:
    compileall.compile_dir(Path(stockwatch.__file__).parent, quiet=1)
