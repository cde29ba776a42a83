"""A C2PA-style manifest (JSON) describing how a rendered file came to be.

    manifest = build_manifest(asset_path=Path("reel.mp4"), title="Launch reel", ai_generated=True,
                              model={"name": "stabilityai/sdxl", "prompt": "a red fox", "seed": 7},
                              actions=[Action("c2pa.edited", description="trimmed and captioned")],
                              ingredients=[Ingredient.from_file(Path("music.wav"), relationship="componentOf")])

The shape follows the c2pa-rs manifest definition (``claim_generator_info``, ``title``, ``format``,
``instance_id``, ``assertions`` with ``c2pa.actions``, ``ingredients``), so the same dict feeds both the signed
sidecar (``sidecar.py``) and the embedded manifest (``embed.py``). The hard binding ``c2pa.hash.data`` is the
SHA-256 of the whole file (base64, no exclusions) — the sidecar's binding; the embedder lets c2pa-rs compute
its own, format-aware one.
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import mimetypes
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InvalidInput, InvalidMedia

IPTC = "http://cv.iptc.org/newscodes/digitalsourcetype/"
TRAINED_ALGORITHMIC_MEDIA = IPTC + "trainedAlgorithmicMedia"
COMPOSITE_WITH_TRAINED = IPTC + "compositeWithTrainedAlgorithmicMedia"
DIGITAL_CREATION = IPTC + "digitalCreation"
DIGITAL_CAPTURE = IPTC + "digitalCapture"
HUMAN_EDITS = IPTC + "humanEdits"
#: Source types that mean "made by a generative model" (the AI label).
AI_SOURCE_TYPES = frozenset({TRAINED_ALGORITHMIC_MEDIA, COMPOSITE_WITH_TRAINED})
RELATIONSHIPS = ("parentOf", "componentOf", "inputTo")
_EXTRA_TYPES = {".mp4": "video/mp4", ".m4v": "video/x-m4v", ".mov": "video/quicktime", ".webm": "video/webm",
                ".wav": "audio/wav", ".mp3": "audio/mpeg", ".m4a": "audio/mp4", ".png": "image/png",
                ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".webp": "image/webp"}


def mime_type(path: Path) -> str:
    """The MIME type of ``path`` from its extension (``application/octet-stream`` when unknown)."""
    return _EXTRA_TYPES.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"


def sha256_b64(path: Path) -> str:
    """Base64 of the SHA-256 of the file's bytes (the C2PA spelling of a hash in JSON)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return base64.b64encode(digest.digest()).decode("ascii")


def _now_iso() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


@dataclass
class Action:
    """One ``c2pa.actions`` entry: ``c2pa.created``, ``c2pa.opened``, ``c2pa.edited``, ``c2pa.placed`` ..."""

    action: str
    digital_source_type: str | None = None
    software_agent: dict[str, Any] | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    description: str | None = None
    when: str | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"action": self.action}
        if self.digital_source_type:
            out["digitalSourceType"] = self.digital_source_type
        if self.software_agent:
            out["softwareAgent"] = dict(self.software_agent)
        if self.parameters:
            out["parameters"] = dict(self.parameters)
        if self.description:
            out["description"] = self.description
        if self.when:
            out["when"] = self.when
        return out


@dataclass
class Ingredient:
    """A file that went into the asset: its parent (``parentOf``) or a placed part (``componentOf``)."""

    title: str
    format: str
    relationship: str = "componentOf"
    hash: str | None = None  # base64 SHA-256 of the ingredient's bytes
    digital_source_type: str | None = None  # how the ingredient itself was made (AI or human)
    instance_id: str = field(default_factory=lambda: f"xmp.iid:{uuid.uuid4()}")

    @classmethod
    def from_file(cls, path: Path, *, relationship: str = "componentOf", title: str | None = None,
                  digital_source_type: str | None = None) -> Ingredient:
        """Describe an existing file (hash and MIME type taken from it)."""
        path = Path(path)
        if not path.is_file():
            raise InvalidMedia(f"{path.name}: ingredient file not found")
        return cls(title=title or path.name, format=mime_type(path), relationship=relationship,
                   hash=sha256_b64(path), digital_source_type=digital_source_type)

    @property
    def ai_generated(self) -> bool:
        return self.digital_source_type in AI_SOURCE_TYPES

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"title": self.title, "format": self.format, "relationship": self.relationship,
                               "instance_id": self.instance_id, "label": self.instance_id}
        if self.hash:
            out["hash"] = self.hash
        if self.digital_source_type:
            out["metadata"] = {"digitalSourceType": self.digital_source_type}
        return out


def build_manifest(*, asset_path: Path, title: str, claim_generator: str = "Reelsmith",
                   actions: list[Action] | None = None, ingredients: list[Ingredient] | None = None,
                   ai_generated: bool = False, model: dict[str, Any] | None = None,
                   claim_generator_version: str = "1.0") -> dict[str, Any]:
    """The manifest of ``asset_path`` as a plain dict (see the module docstring).

    When no ``c2pa.created``/``c2pa.opened`` action leads the list, one is added: ``c2pa.opened`` of the
    ``parentOf`` ingredient if there is one, else ``c2pa.created`` with ``trainedAlgorithmicMedia`` (when
    ``ai_generated``) or ``digitalCreation``. ``model`` (``name``/``id``, ``version``, ``prompt``, ``seed``, ...)
    becomes the created action's ``softwareAgent`` and ``parameters``. ``componentOf`` ingredients that no
    action mentions get a ``c2pa.placed`` action.
    """
    # 1. Check inputs
    path = Path(asset_path)
    if not path.is_file():
        raise InvalidMedia(f"{path.name}: file not found")
    ingredients = list(ingredients or [])
    for ing in ingredients:
        if ing.relationship not in RELATIONSHIPS:
            raise InvalidInput(f"ingredient {ing.title!r}: relationship must be one of {', '.join(RELATIONSHIPS)}")
    if sum(ing.relationship == "parentOf" for ing in ingredients) > 1:
        raise InvalidInput("a manifest can have at most one parentOf ingredient")

    # 2. Actions: make sure the history starts with created/opened and mentions every ingredient
    now = _now_iso()
    listed = [a.as_dict() for a in actions or []]
    parent = next((ing for ing in ingredients if ing.relationship == "parentOf"), None)
    if not listed or listed[0]["action"] not in ("c2pa.created", "c2pa.opened"):
        if parent is not None:
            first = Action("c2pa.opened", parameters={"ingredientIds": [parent.instance_id]}).as_dict()
        else:
            first = Action("c2pa.created",
                           digital_source_type=TRAINED_ALGORITHMIC_MEDIA if ai_generated else DIGITAL_CREATION
                           ).as_dict()
        listed.insert(0, first)
    head = listed[0]
    if head["action"] == "c2pa.created":
        if ai_generated:
            head.setdefault("digitalSourceType", TRAINED_ALGORITHMIC_MEDIA)
        if model:
            params = {k: v for k, v in model.items() if k not in ("name", "id", "version")}
            name = model.get("name") or model.get("id")
            if name:
                params["model"] = name
                agent = {"name": str(name)} | ({"version": str(model["version"])} if model.get("version") else {})
                head.setdefault("softwareAgent", agent)
            head["parameters"] = {**params, **head.get("parameters", {})}
        head.setdefault("softwareAgent", {"name": claim_generator, "version": claim_generator_version})
    elif ai_generated and not any(a.get("digitalSourceType") in AI_SOURCE_TYPES for a in listed) \
            and not any(ing.ai_generated for ing in ingredients):  # an opened parent, AI content added
        agent = {"name": str(model.get("name") or model.get("id"))} if model and (model.get("name")
                                                                                 or model.get("id")) else None
        listed.append(Action("c2pa.edited", digital_source_type=COMPOSITE_WITH_TRAINED, software_agent=agent,
                             parameters=dict(model or {}), description="added generated content").as_dict())
    mentioned = {i for a in listed for i in a.get("parameters", {}).get("ingredientIds", [])}
    for ing in ingredients:
        if ing.relationship == "componentOf" and ing.instance_id not in mentioned:
            listed.append(Action("c2pa.placed", parameters={"ingredientIds": [ing.instance_id]},
                                 description=f"placed {ing.title}").as_dict())
    for item in listed:
        item.setdefault("when", now)

    # 3. Assemble
    return {
        "claim_generator": claim_generator,
        "claim_generator_info": [{"name": claim_generator, "version": claim_generator_version}],
        "title": title,
        "format": mime_type(path),
        "instance_id": f"xmp.iid:{uuid.uuid4()}",
        "assertions": [
            {"label": "c2pa.actions", "data": {"actions": listed}},
            {"label": "c2pa.hash.data", "data": {"alg": "sha256", "hash": sha256_b64(path), "exclusions": [],
                                                  "name": "whole file"}},
        ],
        "ingredients": [ing.as_dict() for ing in ingredients],
    }


def actions_of(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """The ``actions`` of a manifest's ``c2pa.actions`` / ``c2pa.actions.v2`` assertion (empty if none)."""
    for assertion in manifest.get("assertions", []):
        if str(assertion.get("label", "")).startswith("c2pa.actions"):
            return list(assertion.get("data", {}).get("actions", []))
    return []


def is_ai_generated(manifest: dict[str, Any]) -> bool:
    """True when an action or an ingredient says "made by a generative model"."""
    if any(a.get("digitalSourceType") in AI_SOURCE_TYPES for a in actions_of(manifest)):
        return True
    return any((ing.get("metadata") or {}).get("digitalSourceType") in AI_SOURCE_TYPES
               for ing in manifest.get("ingredients", []))


def summarize_actions(manifest: dict[str, Any]) -> list[str]:
    """One short line per action, e.g. ``"c2pa.created (trainedAlgorithmicMedia) by stabilityai/sdxl"``."""
    lines = []
    for act in actions_of(manifest):
        line = str(act.get("action", "?"))
        source = act.get("digitalSourceType")
        if source:
            line += f" ({str(source).rsplit('/', 1)[-1]})"
        agent = act.get("softwareAgent")
        name = agent.get("name") if isinstance(agent, dict) else agent
        if name:
            line += f" by {name}"
        if act.get("description"):
            line += f": {act['description']}"
        lines.append(line)
    return lines
