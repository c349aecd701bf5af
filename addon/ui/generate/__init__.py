"""The Generate Cards window, in parts other windows reuse:

dialog.py         the window: source, run, preview, regenerate, add, drafts, lifecycle
runs.py           pipeline runs handed to the main thread, cards into the draft session
table.py          RowsModel / RowsTable: rows with a checkbox, columns as functions (reusable)
preview.py        the draft cards' columns, their editor fields, the duplicate flag
card_view.py      CardView: a card rendered by Anki, both sides, in an Anki webview (reusable)
card_editor.py    CardEditor: fields as Markdown text or rich text (reusable)
source_picker.py  pasted text with a title, or notes from the Browser/editor
notices.py        NoticeArea: one-line notices at the top of a window (reusable)
"""
