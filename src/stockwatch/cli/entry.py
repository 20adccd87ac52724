"""The ``stockwatch`` command as a process: the collector is tuned before anything else.

The process is the command's alone, so ``cli.main`` takes what it imported out of
collection and collects the youngest objects less often (``_collect_less``). Importing the
commands makes tens of thousands of objects that live until the end, and with the
collector on, it walked them a few times for nothing: about 15 ms of every command's
start, a fortieth of an unchanged re-upload. So it is off until then.
"""

from __future__ import annotations

import gc


def main() -> None:
    gc.disable()  # on again in cli.main._collect_less, as the command starts
    from stockwatch.cli.main import main as run

    run()
