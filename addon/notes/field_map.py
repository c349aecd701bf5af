"""Which fields of a note type hold a card's question, answer and extra (a cloze note type's: text and
extra), so that existing notes of any note type can be reviewed; fields not mapped are never read or written.

The first time, the mapping is guessed from the note type (our own note types by their field tags, cloze
note types by their `{{cloze:…}}` field, others by what their templates show on the front and the back);
the learner confirms or corrects it, and it is remembered per note type in the collection's config, so it
syncs with the collection. A remembered mapping that names a field since renamed or removed is asked again.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from anki.collection import Collection
from anki.consts import MODEL_CLOZE
from anki.models import NotetypeDict, NotetypeId, StockNotetype

from .notetypes import Kind, field_ords, is_ours

Role = Literal["question", "answer", "text", "extra"]
ROLES: dict[Kind, tuple[Role, ...]] = {"basic": ("question", "answer", "extra"), "cloze": ("text", "extra")}
REQUIRED: dict[Kind, tuple[Role, ...]] = {"basic": ("question", "answer"), "cloze": ("text",)}
ROLE_LABELS: dict[Role, str] = {"question": "Question", "answer": "Answer", "text": "Text", "extra": "Extra"}
OUR_FIELDS: dict[Role, str] = {"question": "Front", "answer": "Back", "text": "Text", "extra": "Extra"}
"""Each role's field in our own note types."""

CONFIG_KEY = "aicgReviewFieldMaps"
"""The collection config key: {note type id: {role: field name}}."""

_EXTRA_NAMES = ("extra", "back extra", "notes", "note", "explanation", "comments", "additional info")
_SPECIAL_FIELDS = frozenset({"FrontSide", "Tags", "Deck", "Subdeck", "Card", "CardFlag", "Type", "CardID"})
_REFERENCE = re.compile(r"\{\{([^#/^!{}][^{}]*)\}\}")
_IMAGE_OCCLUSION = StockNotetype.OriginalStockKind.ORIGINAL_STOCK_KIND_IMAGE_OCCLUSION


@dataclass(frozen=True)
class FieldMap:
    """One note type's fields by role; `saved` once the learner confirmed it."""

    notetype_id: int
    notetype: str
    kind: Kind
    fields: Mapping[Role, str]
    names: tuple[str, ...]
    """Every field of the note type, in order (what the learner chooses from)."""
    saved: bool = False

    @property
    def complete(self) -> bool:
        """The roles a card needs are mapped, each to a field of its own."""
        mapped = [self.fields.get(role) for role in REQUIRED[self.kind]]
        named = [name for name in self.fields.values() if name]
        return all(mapped) and len(set(named)) == len(named)

    def with_fields(self, fields: Mapping[Role, str | None]) -> FieldMap:
        chosen = {role: name for role, name in fields.items() if name and name in self.names}
        return FieldMap(self.notetype_id, self.notetype, self.kind, chosen, self.names)

    def describe(self) -> str:
        """E.g. "Front → question, Back → answer, no extra"."""
        parts = [
            f"{self.fields[role]} → {ROLE_LABELS[role].lower()}"
            if role in self.fields
            else f"no {ROLE_LABELS[role].lower()}"
            for role in ROLES[self.kind]
        ]
        return ", ".join(parts)


class UnsupportedNotetype(ValueError):
    """A note type whose notes can't be reviewed as text (Image Occlusion); str() says so."""


def kind_of(notetype: NotetypeDict) -> Kind:
    return "cloze" if notetype["type"] == MODEL_CLOZE else "basic"


def field_map(col: Collection, notetype_id: int) -> FieldMap:
    """The remembered mapping of this note type if it still fits its fields, else a guess (not `saved`)."""
    notetype = col.models.get(NotetypeId(notetype_id))
    if notetype is None:
        raise KeyError(f"note type {notetype_id} no longer exists")
    if notetype.get("originalStockKind") == _IMAGE_OCCLUSION:
        raise UnsupportedNotetype(f"“{notetype['name']}” notes are images: they can't be reviewed as text")
    names = tuple(field["name"] for field in notetype["flds"])
    guessed = FieldMap(notetype_id, notetype["name"], kind_of(notetype), guess(notetype), names)
    stored = (col.get_config(CONFIG_KEY, {}) or {}).get(str(notetype_id))
    if isinstance(stored, dict):
        remembered = guessed.with_fields({role: stored.get(role) for role in ROLES[guessed.kind]})
        if remembered.complete and all(stored.get(role) in (None, *names) for role in ROLES[guessed.kind]):
            return FieldMap(notetype_id, notetype["name"], guessed.kind, remembered.fields, names, saved=True)
    return guessed


def save_field_maps(col: Collection, maps: Iterable[FieldMap]) -> None:
    """Remember these mappings (the learner confirmed them)."""
    stored = dict(col.get_config(CONFIG_KEY, {}) or {})
    for mapping in maps:
        stored[str(mapping.notetype_id)] = dict(mapping.fields)
    col.set_config(CONFIG_KEY, stored)


def guess(notetype: NotetypeDict) -> dict[Role, str]:
    """Each role's field as far as the note type tells."""
    kind = kind_of(notetype)
    names = [field["name"] for field in notetype["flds"]]
    if is_ours(notetype, kind):
        ords = field_ords(notetype, kind)
        return {role: names[ords[OUR_FIELDS[role]]] for role in ROLES[kind] if OUR_FIELDS[role] in ords}
    template = notetype["tmpls"][0] if notetype["tmpls"] else {"qfmt": "", "afmt": ""}
    front = _shown(template["qfmt"], names)
    back = [name for name in _shown(template["afmt"], names) if name not in front]
    chosen: dict[Role, str] = {}
    if kind == "cloze":
        cloze = re.search(r"\{\{(?:[^{}]*:)?cloze:([^{}]+)\}\}", template["qfmt"])
        chosen["text"] = cloze.group(1).strip() if cloze and cloze.group(1).strip() in names else names[0]
    else:
        question = next((name for name in front if not _typed(template["qfmt"], name)), None)
        chosen["question"] = question or names[0]
        answer = next((name for name in [*back, *front] if name != chosen["question"]), None)
        if answer is None and len(names) > 1:
            answer = next(name for name in names if name != chosen["question"])
        if answer is not None:
            chosen["answer"] = answer
    used = set(chosen.values())
    extra = next((n for n in names if n.casefold() in _EXTRA_NAMES and n not in used), None)
    if extra is not None:
        chosen["extra"] = extra
    return chosen


def _shown(template: str, names: list[str]) -> list[str]:
    """The note's fields a template shows, in order (filters such as `text:` or `type:` dropped)."""
    shown: list[str] = []
    for match in _REFERENCE.finditer(template):
        name = match.group(1).rsplit(":", 1)[-1].strip()
        if name in names and name not in _SPECIAL_FIELDS and name not in shown:
            shown.append(name)
    return shown


def _typed(template: str, name: str) -> bool:
    """Whether the template asks the learner to type this field (then it is the answer)."""
    return re.search(r"\{\{type:(?:[^{}]*:)?" + re.escape(name) + r"\}\}", template) is not None
