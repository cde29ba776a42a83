"""Content credentials (C2PA-style) for rendered files: who made them, with which model, from which parts.

    identity = load_identity(data_dir / "secrets" / "credentials")
    manifest = build_manifest(asset_path=path, title="Reel", actions=[], ingredients=[], ai_generated=True,
                              model={"name": "stabilityai/sdxl", "prompt": "...", "seed": 7})
    write_sidecar(path, sign_sidecar(manifest, identity))          # any file type
    embed(path, signed_path, manifest, identity)                    # JPEG, PNG, MP4, ... via c2pa-python
    verify(path, trusted_fingerprints={identity.fingerprint}).ok

CLI: ``python -m engines.credentials verify FILE [--sidecar F] [--keys DIR] [--trust FPR] --json``.
Nothing heavy is imported here: ``cryptography`` and ``c2pa`` load inside the functions that use them.
"""
from __future__ import annotations

from .embed import embed, read_embedded, supported_formats, verify_embedded
from .keys import Identity, load_identity
from .manifest import Action, Ingredient, build_manifest
from .sidecar import Verification, sidecar_path, sign_sidecar, verify, write_sidecar

__all__ = ["Action", "Identity", "Ingredient", "Verification", "build_manifest", "embed", "load_identity",
           "read_embedded", "sidecar_path", "sign_sidecar", "supported_formats", "verify", "verify_embedded",
           "write_sidecar"]
