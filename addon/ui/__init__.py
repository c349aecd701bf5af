"""Qt dialogs, the widgets they share and the collection operations they run."""

from functools import cache

from aqt.qt import QObject, pyqtSignal

GENERATE_DIALOG = "AICardGenerator.Generate"
"""The generate dialog's name in Anki's dialog manager (`aqt.dialogs`)."""
SETTINGS_DIALOG = "AICardGenerator.Settings"
"""The settings window's name there."""
REVIEW_DIALOG = "AICardGenerator.Review"
"""The review window's name there."""


class ConfigEvents(QObject):
    saved = pyqtSignal()
    """The settings window wrote the config: widgets that show something from it look again."""


@cache
def config_events() -> ConfigEvents:
    return ConfigEvents()
