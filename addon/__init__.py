"""AI Card Generator: turns what you read into flashcards.

Start-up registers menu items and hooks only; the pipeline and its vendored libraries load on first use.
Outside a running Anki (the CLI, tests) importing this package does nothing.
"""

import sys

if "aqt" in sys.modules:
    from aqt import mw

    if mw is not None:
        from .main import init

        init()
