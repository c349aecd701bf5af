"""Cards as text: cloze syntax, Markdown to sanitized HTML, lints and the deterministic Formatter.

Pure functions over `models`; nothing here calls a model or knows about workflows.
"""
