"""Qt dialogs and the collection operations they run."""

GENERATE_DIALOG = "AICardGenerator.Generate"
"""The generate dialog's name in Anki's dialog manager (`aqt.dialogs`)."""
