"""The two note types the add-on owns, created on demand and updated only where the user left them alone.

A note type is ours if it carries the `MARKER` key (it survives renames, clones and .apkg round trips);
its fields are found by their field `tag`, so renamed or reordered fields keep working. The marker
remembers a hash of the CSS and templates we last wrote: a newer add-on replaces them only while
the hash still matches, i.e. while the user has not edited them.

Fields a newer version adds (Source, where a card came from) are added to an existing note type only when
the caller allows it: adding a field changes the collection's schema, which costs a full sync, so the UI asks
first (`needs_new_fields`), as Anki does.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from hashlib import sha1
from pathlib import Path
from typing import Literal

from anki.collection import Collection, OpChanges
from anki.consts import MODEL_CLOZE, MODEL_STD
from anki.models import FieldDict, NotetypeDict, NotetypeId

Kind = Literal["basic", "cloze"]

MARKER = "aiCardGenerator"
CSS = (Path(__file__).parent / "card.css").read_text(encoding="utf-8")

# Field tags are Anki's own way to identify a field independently of its name (Image Occlusion uses them).
FIELD_TAGS = {"Front": 1, "Back": 2, "Text": 3, "Extra": 4, "Source": 5}
SOURCE_FIELD = "Source"
"""Where a card came from, for people: the source note's title and id, or the pasted text's title."""

_EXTRA = '\n{{#Extra}}<div class="aicg aicg-extra">{{Extra}}</div>{{/Extra}}'


@dataclass(frozen=True)
class _Template:
    name: str
    qfmt: str
    afmt: str


@dataclass(frozen=True)
class _Spec:
    name: str
    type: int
    fields: tuple[str, ...]
    template: _Template
    package_id: NotetypeId
    """The id of this note type in every .apkg we write (see package.py); a plausible creation time."""


SPECS: dict[Kind, _Spec] = {
    "basic": _Spec(
        name="AI Card Generator Basic",
        type=MODEL_STD,
        fields=("Front", "Back", "Extra", SOURCE_FIELD),
        template=_Template(
            name="Card 1",
            qfmt='<div class="aicg aicg-front">{{Front}}</div>',
            afmt='{{FrontSide}}\n\n<hr id="answer">\n\n<div class="aicg aicg-back">{{Back}}</div>' + _EXTRA,
        ),
        package_id=NotetypeId(1_735_689_600_001),
    ),
    "cloze": _Spec(
        name="AI Card Generator Cloze",
        type=MODEL_CLOZE,
        fields=("Text", "Extra", SOURCE_FIELD),
        template=_Template(
            name="Cloze",
            qfmt='<div class="aicg aicg-cloze">{{cloze:Text}}</div>',
            afmt='<div class="aicg aicg-cloze">{{cloze:Text}}</div>' + _EXTRA,
        ),
        package_id=NotetypeId(1_735_689_600_002),
    ),
}


def _stable_id(*parts: str) -> int:
    """The same 60-bit id in every collection. Anki imports a note type into one that has the same id and
    the same field and template ids, so fixed ids keep packages from adding a copy each time."""
    return int(_digest(":".join((MARKER, *parts)))[:15], 16)


def _digest(text: str) -> str:
    return sha1(text.encode("utf-8")).hexdigest()


def _templates_digest(notetype: NotetypeDict) -> str:
    return _digest("\x1f".join(f"{t['qfmt']}\x1e{t['afmt']}" for t in notetype["tmpls"]))


def is_ours(notetype: NotetypeDict, kind: Kind) -> bool:
    marker = notetype.get(MARKER)
    return isinstance(marker, dict) and marker.get("kind") == kind


def find_notetype(col: Collection, kind: Kind) -> NotetypeDict | None:
    """Our note type of this kind: the one still under its original name if several, else the oldest."""
    ours = [nt for nt in col.models.all() if is_ours(nt, kind)]
    if not ours:
        return None
    return min(ours, key=lambda nt: (nt["name"] != SPECS[kind].name, nt["id"]))


def ensure_notetype(col: Collection, kind: Kind, *, add_fields: bool = True) -> NotetypeDict:
    """Our note type of this kind, created if missing and refreshed if the user has not edited it;
    with `add_fields`, fields this version has and the note type lacks are added (a schema change)."""
    notetype = find_notetype(col, kind)
    if notetype is None:
        return _create(col, kind)
    changed = _refresh(notetype, kind)
    if add_fields and (missing := _missing_fields(notetype, kind)):
        for name in missing:
            col.models.add_field(notetype, _new_field(col, kind, name))
        changed = True
    if changed:
        col.models.update_dict(notetype)
        notetype = col.models.get(NotetypeId(notetype["id"]))
        assert notetype is not None
    return notetype


def prepare_notetypes(col: Collection) -> OpChanges:
    """Both note types created or refreshed, ready to render cards with (fields are not added here)."""
    changed = False
    for kind in SPECS:
        before = find_notetype(col, kind)
        after = ensure_notetype(col, kind, add_fields=False)
        changed |= before is None or before.get("mod") != after.get("mod")
    return OpChanges(notetype=changed)


def notetypes_ready(col: Collection) -> bool:
    """Whether `prepare_notetypes` would change nothing."""
    for kind in SPECS:
        notetype = find_notetype(col, kind)
        if notetype is None or _refresh(copy.deepcopy(notetype), kind):
            return False
    return True


def needs_new_fields(col: Collection) -> bool:
    """Whether one of our existing note types lacks a field this version adds."""
    return any(
        (notetype := find_notetype(col, kind)) is not None and _missing_fields(notetype, kind)
        for kind in SPECS
    )


def _missing_fields(notetype: NotetypeDict, kind: Kind) -> list[str]:
    return [name for name in SPECS[kind].fields if name not in field_ords(notetype, kind)]


def _new_field(col: Collection, kind: Kind, name: str) -> FieldDict:
    field = col.models.new_field(name)
    field["tag"] = FIELD_TAGS[name]
    field["id"] = _stable_id(kind, name)
    return field


def field_ords(notetype: NotetypeDict, kind: Kind) -> dict[str, int]:
    """Where our fields are in this note type, by field tag, else by name; missing ones are left out."""
    ords: dict[str, int] = {}
    for name in SPECS[kind].fields:
        by_tag = [f["ord"] for f in notetype["flds"] if f.get("tag") == FIELD_TAGS[name]]
        by_name = [f["ord"] for f in notetype["flds"] if f["name"] == name]
        if found := by_tag or by_name:
            ords[name] = found[0]
    return ords


def _create(col: Collection, kind: Kind) -> NotetypeDict:
    spec = SPECS[kind]
    notetype = col.models.new(spec.name)
    notetype["type"] = spec.type
    notetype["css"] = CSS
    for name in spec.fields:
        col.models.add_field(notetype, _new_field(col, kind, name))
    template = col.models.new_template(spec.template.name)
    template["id"] = _stable_id(kind, spec.template.name)
    template["qfmt"] = spec.template.qfmt
    template["afmt"] = spec.template.afmt
    col.models.add_template(notetype, template)
    notetype[MARKER] = {"kind": kind, "css": _digest(CSS), "templates": _templates_digest(notetype)}
    created = col.models.get(NotetypeId(col.models.add_dict(notetype).id))
    assert created is not None
    return created


def _refresh(notetype: NotetypeDict, kind: Kind) -> bool:
    """Bring CSS and templates up to this version where they are still as we wrote them; True if changed."""
    wanted = SPECS[kind].template
    marker = dict(notetype[MARKER])
    changed = False
    if notetype["css"] != CSS and _digest(notetype["css"]) == marker.get("css"):
        notetype["css"] = CSS
        marker["css"] = _digest(CSS)
        changed = True
    templates = notetype["tmpls"]
    if (
        len(templates) == 1
        and (templates[0]["qfmt"], templates[0]["afmt"]) != (wanted.qfmt, wanted.afmt)
        and _templates_digest(notetype) == marker.get("templates")
    ):
        templates[0].update(qfmt=wanted.qfmt, afmt=wanted.afmt)
        marker["templates"] = _templates_digest(notetype)
        changed = True
    notetype[MARKER] = marker
    return changed
