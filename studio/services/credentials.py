"""Content credentials and AI watermarks for the studio's assets: a signed C2PA-style manifest built from an
asset's lineage (exported as a sidecar and, where c2pa-rs supports the format, embedded), the checks run on
every upload (embedded credentials, AI watermark), and the watermark put on every generated picture."""
from __future__ import annotations

import hashlib
import logging
import shutil
from pathlib import Path
from typing import Any

from engines.errors import ReelsmithError
from storage.config import Settings
from storage.db import Store
from storage.repo import assets as assets_repo
from storage.repo import lineage

log = logging.getLogger("reelsmith.credentials")
MARK_TAG = b"RS"  # first two bytes of every Reelsmith watermark payload; the other two name the instance


def key_dir(settings: Settings) -> Path:
    return settings.data_dir / "secrets" / "credentials"


def identity(settings: Settings):
    from engines.credentials import load_identity

    return load_identity(key_dir(settings))


def mark_payload(settings: Settings) -> bytes:
    return MARK_TAG + hashlib.sha256(identity(settings).fingerprint.encode()).digest()[:2]


def watermark_image(settings: Settings, image):
    """The picture with this instance's invisible mark, and what happened (small pictures stay unmarked)."""
    from engines.watermark import MIN_SIDE, embed

    if min(image.size) < MIN_SIDE:
        return image, {"embedded": False, "reason": f"smaller than {MIN_SIDE} px, too small to carry a mark"}
    payload = mark_payload(settings)
    try:
        marked = embed(image, payload)
    except ImportError as exc:  # invisible-watermark comes from requirements-nodeps.txt (absent on e.g. Spaces)
        log.warning("picture left unmarked: %s", exc)
        return image, {"embedded": False, "reason": f"watermark library missing ({exc})"}
    return marked, {"embedded": True, "method": "dwtDctSvd", "payload": payload.hex()}


def _asset_path(store: Store, asset) -> Path:
    return store.media.path_for(asset.content_hash, asset.ext)


def build_for_asset(store: Store, settings: Settings, asset_id: int, path: Path | None = None
                    ) -> tuple[dict[str, Any], Any, Any]:
    """(unsigned manifest, lineage graph, contribution) for an asset; ``path`` = the file to bind (default: the
    stored file)."""
    from engines.credentials import Action, Ingredient, build_manifest
    from engines.credentials.manifest import DIGITAL_CAPTURE, HUMAN_EDITS, TRAINED_ALGORITHMIC_MEDIA

    with store.session() as s:
        asset = assets_repo.get_asset(session=s, asset_id=asset_id)
        graph = lineage.lineage(session=s, asset_id=asset_id)
        share = lineage.contribution(graph)
        parent_paths = {}
        for pid, _ in graph.parents(asset_id):
            parent = assets_repo.get_asset(session=s, asset_id=pid)
            parent_paths[pid] = _asset_path(store, parent)
        file = path or _asset_path(store, asset)
        title = asset.name
    node = graph.nodes[asset_id]
    parents = graph.parents(asset_id)
    shares = lineage.data_shares(graph)
    ingredients = []
    for pid, role in parents:
        pnode = graph.nodes[pid]
        relationship = "parentOf" if len(parents) == 1 or role in ("source", "timeline") else "componentOf"
        src_type = TRAINED_ALGORITHMIC_MEDIA if shares[pid][0] > 0 else (
            HUMAN_EDITS if pnode.human_edits else DIGITAL_CAPTURE)
        ing = (Ingredient.from_file(parent_paths[pid], relationship=relationship, title=pnode.name,
                                    digital_source_type=src_type)
               if parent_paths[pid].is_file() else Ingredient(title=pnode.name, format=pnode.mime or "", relationship=
                                                                relationship, digital_source_type=src_type))
        ingredients.append(ing)
    actions = []
    model = None
    if node.source == "generated":
        model = {"name": node.model_id or f"{node.engine}/{node.backend}", "engine": node.engine,
                 "backend": node.backend, "prompt": node.prompt, "seed": node.seed}
        model = {k: v for k, v in model.items() if v is not None}
    elif node.engine:
        actions.append(Action("c2pa.edited", software_agent={"name": f"Reelsmith {node.engine}",
                                                             "version": node.backend or ""},
                              parameters={k: v for k, v in node.parameters.items()
                                          if isinstance(v, (str, int, float, bool))},
                              description=f"{node.engine} ({node.backend or 'lite'}) processing"))
    for edit in node.human_edits:
        op = edit.get("op") if isinstance(edit, dict) else str(edit)
        actions.append(Action("c2pa.edited", digital_source_type=HUMAN_EDITS, description=f"human edit: {op}",
                              when=edit.get("at") if isinstance(edit, dict) else None))
    manifest = build_manifest(asset_path=file, title=title, claim_generator="Reelsmith", actions=actions,
                              ingredients=ingredients, ai_generated=node.source == "generated" or (
                                  share.ai_generated and not parents), model=model)
    manifest.setdefault("assertions", []).append({"label": "org.reelsmith.contribution",
                                                  "data": {**share.as_dict(), "rule": "storage/repo/lineage.py"}})
    return manifest, graph, share


def sidecar_for_copy(store: Store, settings: Settings, asset_id: int, copy: Path | str) -> Path:
    """Sign a manifest bound to ``copy`` (a download copy of the asset) and write it next to it."""
    from engines.credentials import sign_sidecar, write_sidecar

    manifest, _, _ = build_for_asset(store, settings, asset_id, Path(copy))
    return write_sidecar(Path(copy), sign_sidecar(manifest, identity(settings)))


def export(store: Store, settings: Settings, asset_id: int, out_dir: Path) -> list[Path]:
    """The asset with its credentials: a copy named after the asset plus its signed ``.c2pa.json`` sidecar, and
    — where c2pa-rs can embed into the format — a second copy with the manifest embedded and signed."""
    from engines.credentials import embed, sign_sidecar, supported_formats, write_sidecar

    with store.session() as s:
        asset = assets_repo.get_asset(session=s, asset_id=asset_id)
        src, name, mime = _asset_path(store, asset), asset.name, asset.mime
    stem = Path(name).stem or f"asset-{asset_id}"
    out_dir.mkdir(parents=True, exist_ok=True)
    plain = out_dir / f"{stem}{src.suffix}"
    shutil.copyfile(src, plain)
    ident = identity(settings)
    manifest, _, _ = build_for_asset(store, settings, asset_id, plain)
    files = [plain, write_sidecar(plain, sign_sidecar(manifest, ident))]
    fmts = supported_formats()
    if (mime and mime in fmts) or src.suffix.lower().lstrip(".") in fmts:
        try:
            files.append(embed(plain, out_dir / f"{stem}.c2pa{src.suffix}", manifest, ident))
        except ReelsmithError as exc:  # keep the sidecar; say why embedding did not work
            log.warning("embedding credentials into %s failed: %s", name, exc)
    return files


def check_file(settings: Settings, path: Path, sidecar: Path | None = None) -> dict[str, Any]:
    """What a file says about itself: embedded credentials (c2pa-rs), a sidecar's signature and hash, and an AI
    watermark. Each part is ``None`` when it does not apply; nothing here raises for a plain file."""
    from engines.credentials import verify, verify_embedded
    from engines.watermark import detect_file

    ident = identity(settings)
    out: dict[str, Any] = {"embedded": None, "sidecar": None, "watermark": None}
    try:
        emb = verify_embedded(path, trusted_roots=[ident.root_pem])
        out["embedded"] = None if emb.problems == ["manifest missing"] else emb.as_dict()
    except ReelsmithError as exc:
        out["embedded"] = {"ok": False, "problems": [exc.message], "notes": []}
    if sidecar is not None:
        out["sidecar"] = verify(path, sidecar, trusted_fingerprints=[ident.fingerprint]).as_dict()
    try:
        mark = detect_file(path)
        own = mark.found and mark.payload == mark_payload(settings)
        out["watermark"] = {"found": mark.found, "payload": mark.payload.hex() if mark.payload else None,
                            "this_instance": own, "reelsmith": bool(mark.payload and mark.payload[:2] == MARK_TAG),
                            "bit_agreement": round(mark.bit_agreement, 3), "scale": mark.scale,
                            "reason": mark.reason}
    except ReelsmithError as exc:
        out["watermark"] = {"found": False, "reason": exc.message}
    except ImportError as exc:
        out["watermark"] = {"found": False, "reason": f"watermark library missing ({exc})"}
    return out


def upload_meta(settings: Settings, path: Path, kind: str) -> dict[str, Any]:
    """Checks run on every uploaded picture or video, kept in the asset's ``meta``."""
    if kind not in ("image", "video"):
        return {}
    try:
        found = check_file(settings, path)
    except Exception:  # noqa: BLE001 - a failed check must not block the upload; it is logged
        log.exception("credential/watermark check of %s failed", path.name)
        return {}
    meta: dict[str, Any] = {}
    if found["watermark"] is not None:
        meta["watermark"] = found["watermark"]
    if found["embedded"] is not None:
        emb = found["embedded"]
        meta["credentials"] = {"ok": emb.get("ok"), "problems": emb.get("problems"),
                               "ai_generated": bool(emb.get("ai_generated")), "signer": emb.get("signer"),
                               "actions": emb.get("actions")}
    return meta


def describe(found: dict[str, Any]) -> str:
    """The result of ``check_file`` as Markdown for the UI."""
    lines = []
    mark = found.get("watermark")
    if mark is None:
        lines.append("- **Watermark**: not checked (only pictures and videos carry one).")
    elif mark.get("found"):
        who = ("made by this studio" if mark.get("this_instance") else
               "made by another Reelsmith instance" if mark.get("reelsmith") else "from another tool")
        lines.append(f"- **AI-generated mark found** — payload `{mark['payload']}` ({who}); "
                     f"{mark['bit_agreement']:.0%} of blocks agree" +
                     (f", read after rescaling ×{mark['scale']:.3g}" if mark.get("scale") not in (None, 1.0) else "")
                     + ".")
    else:
        lines.append(f"- **No AI watermark found**{' — ' + mark['reason'] if mark.get('reason') else ''}.")
    for key, label in (("embedded", "Embedded content credentials"), ("sidecar", "Sidecar manifest")):
        v = found.get(key)
        if v is None:
            lines.append(f"- **{label}**: none.")
            continue
        verdict = "valid" if v.get("ok") else "**NOT valid**"
        extra = "; ".join(v.get("problems") or []) or "; ".join(v.get("notes") or [])
        ai = " · declares AI-generated content" if v.get("ai_generated") else ""
        lines.append(f"- **{label}**: {verdict}{ai}" + (f" — {extra}" if extra else "") +
                     (f" · actions: {', '.join(v.get('actions') or [])}" if v.get("actions") else ""))
    return "\n".join(lines)
