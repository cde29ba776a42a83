"""engines.credentials: instance keys, manifests, signed sidecars, c2pa embedding and the CLI."""
from __future__ import annotations

import base64
import hashlib
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from engines.credentials import (
    Action,
    Ingredient,
    build_manifest,
    embed,
    load_identity,
    read_embedded,
    sign_sidecar,
    verify,
    verify_embedded,
    write_sidecar,
)
from engines.credentials.__main__ import main as cli_main
from engines.credentials.keys import CA_KEY, LEAF_CERT, LEAF_KEY
from engines.credentials.manifest import (
    COMPOSITE_WITH_TRAINED,
    HUMAN_EDITS,
    TRAINED_ALGORITHMIC_MEDIA,
    actions_of,
)
from engines.credentials.sidecar import (
    BAD_SIGNATURE,
    HASH_MISMATCH,
    MISSING,
    UNKNOWN_SIGNER,
)
from engines.errors import InvalidInput, InvalidMedia, UnsupportedMedia

ROOT = Path(__file__).resolve().parents[2]
MODEL = {"name": "stabilityai/sdxl-turbo", "version": "1.0", "prompt": "a red fox at dawn", "seed": 7}


# --------------------------------------------------------------------------------------------------------------
# Fixtures: two instance identities and tiny media
# --------------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def keys_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("data") / "secrets" / "credentials"


@pytest.fixture(scope="module")
def identity(keys_dir):
    return load_identity(keys_dir)


@pytest.fixture(scope="module")
def other_identity(tmp_path_factory):
    return load_identity(tmp_path_factory.mktemp("other") / "credentials")


def _picture(path: Path, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)).save(path)
    return path


def _mp4(path: Path) -> Path:
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=10)
        stream.width = stream.height = 64
        stream.pix_fmt = "yuv420p"
        for i in range(10):
            frame = av.VideoFrame.from_ndarray(np.full((64, 64, 3), i * 20, np.uint8), format="rgb24")
            frame.pts = i
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def _ai_manifest(path: Path) -> dict:
    return build_manifest(asset_path=path, title="Fox", actions=[], ingredients=[], ai_generated=True, model=MODEL)


# --------------------------------------------------------------------------------------------------------------
# Keys
# --------------------------------------------------------------------------------------------------------------
def test_keys_persist_with_private_modes(keys_dir, identity):
    again = load_identity(keys_dir)
    assert again.fingerprint == identity.fingerprint and again.private_key_pem == identity.private_key_pem
    for name in (CA_KEY, LEAF_KEY):
        assert stat.S_IMODE(os.stat(keys_dir / name).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(keys_dir).st_mode) == 0o700
    assert identity.instance_name.startswith("Reelsmith instance CA ")
    assert "PRIVATE" not in repr(identity)
    assert not any(p.name.endswith(".part") for p in keys_dir.iterdir())


def test_leaf_certificate_has_the_c2pa_profile(identity):
    from cryptography import x509
    from cryptography.x509.oid import ExtendedKeyUsageOID

    leaf, root = x509.load_pem_x509_certificates(identity.cert_chain_pem)
    assert leaf.issuer == root.subject and root.issuer == root.subject
    leaf.verify_directly_issued_by(root)
    ext = leaf.extensions
    assert ext.get_extension_for_class(x509.KeyUsage).value.digital_signature
    assert not ext.get_extension_for_class(x509.BasicConstraints).value.ca
    assert ExtendedKeyUsageOID.EMAIL_PROTECTION in ext.get_extension_for_class(x509.ExtendedKeyUsage).value
    aki = ext.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier
    assert aki == root.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest


def test_interrupted_leaf_is_reissued_under_the_same_ca(tmp_path):
    first = load_identity(tmp_path / "k")
    (tmp_path / "k" / LEAF_CERT).unlink()
    second = load_identity(tmp_path / "k")
    assert second.fingerprint == first.fingerprint and second.private_key_pem != first.private_key_pem


# --------------------------------------------------------------------------------------------------------------
# Manifest
# --------------------------------------------------------------------------------------------------------------
def test_manifest_structure_and_hash_binding(tmp_path):
    path = _picture(tmp_path / "fox.png")
    manifest = _ai_manifest(path)
    assert manifest["format"] == "image/png" and manifest["title"] == "Fox"
    assert manifest["instance_id"].startswith("xmp.iid:")
    assert manifest["claim_generator_info"][0]["name"] == "Reelsmith"
    created = actions_of(manifest)[0]
    assert created["action"] == "c2pa.created" and created["digitalSourceType"] == TRAINED_ALGORITHMIC_MEDIA
    assert created["parameters"] == {"model": MODEL["name"], "prompt": MODEL["prompt"], "seed": 7}
    assert created["softwareAgent"] == {"name": MODEL["name"], "version": "1.0"}
    binding = next(a["data"] for a in manifest["assertions"] if a["label"] == "c2pa.hash.data")
    assert base64.b64decode(binding["hash"]) == hashlib.sha256(path.read_bytes()).digest()


def test_manifest_edits_and_ingredients(tmp_path):
    parent = _picture(tmp_path / "gen.png", 1)
    music = _picture(tmp_path / "logo.png", 2)
    out = _picture(tmp_path / "final.png", 3)
    ingredients = [Ingredient.from_file(parent, relationship="parentOf", digital_source_type=TRAINED_ALGORITHMIC_MEDIA),
                   Ingredient.from_file(music, digital_source_type=HUMAN_EDITS)]
    manifest = build_manifest(asset_path=out, title="Final", ai_generated=False, model=None, ingredients=ingredients,
                              actions=[Action("c2pa.edited", digital_source_type=HUMAN_EDITS, description="trim")])
    names = [a["action"] for a in actions_of(manifest)]
    assert names == ["c2pa.opened", "c2pa.edited", "c2pa.placed"]
    assert actions_of(manifest)[0]["parameters"]["ingredientIds"] == [ingredients[0].instance_id]
    parent_dict = manifest["ingredients"][0]
    assert parent_dict["relationship"] == "parentOf"
    assert parent_dict["hash"] == base64.b64encode(hashlib.sha256(parent.read_bytes()).digest()).decode()
    assert parent_dict["metadata"]["digitalSourceType"] == TRAINED_ALGORITHMIC_MEDIA
    # AI content added to a human parent is labelled with a composite edit
    human = build_manifest(asset_path=out, title="F", ai_generated=True, model=MODEL, actions=[],
                           ingredients=[Ingredient.from_file(parent, relationship="parentOf")])
    assert any(a.get("digitalSourceType") == COMPOSITE_WITH_TRAINED for a in actions_of(human))


def test_manifest_rejects_bad_input(tmp_path):
    with pytest.raises(InvalidMedia):
        build_manifest(asset_path=tmp_path / "none.png", title="x", actions=[], ingredients=[], ai_generated=False,
                       model=None)
    path = _picture(tmp_path / "a.png")
    with pytest.raises(InvalidInput):
        build_manifest(asset_path=path, title="x", actions=[], ai_generated=False, model=None,
                       ingredients=[Ingredient("a", "image/png", relationship="sibling")])


# --------------------------------------------------------------------------------------------------------------
# Signed sidecar
# --------------------------------------------------------------------------------------------------------------
def test_sidecar_sign_and_verify(tmp_path, identity):
    path = _picture(tmp_path / "fox.png")
    sidecar = write_sidecar(path, sign_sidecar(_ai_manifest(path), identity))
    assert sidecar.name == "fox.png.c2pa.json" and json.loads(sidecar.read_text())["signature"]["alg"] == "ES256"
    result = verify(path, trusted_fingerprints=[identity.fingerprint.upper()])
    assert result.ok and result.problems == [] and result.ai_generated is True
    assert result.fingerprint == identity.fingerprint and result.signer.startswith("Reelsmith instance signer")
    assert result.created and result.actions[0].startswith("c2pa.created (trainedAlgorithmicMedia)")


@pytest.mark.parametrize("tamper", ["flip", "append"])
def test_tampered_file_fails_with_hash_mismatch(tmp_path, identity, tamper):
    path = _picture(tmp_path / "fox.png")
    write_sidecar(path, sign_sidecar(_ai_manifest(path), identity))
    data = bytearray(path.read_bytes())
    if tamper == "flip":
        data[len(data) // 2] ^= 0x01
    else:
        data += b"\0"
    path.write_bytes(bytes(data))
    result = verify(path, trusted_fingerprints=[identity.fingerprint])
    assert not result.ok and result.problems == [HASH_MISMATCH]


def test_tampered_manifest_fails_with_signature_reason(tmp_path, identity):
    path = _picture(tmp_path / "fox.png")
    signed = sign_sidecar(_ai_manifest(path), identity)
    signed["assertions"][0]["data"]["actions"][0]["digitalSourceType"] = HUMAN_EDITS  # hide the AI label
    result = verify(path, signed)
    assert not result.ok and BAD_SIGNATURE in result.problems and HASH_MISMATCH not in result.problems


def test_other_instance_is_unknown_and_missing_sidecar(tmp_path, identity, other_identity):
    path = _picture(tmp_path / "fox.png")
    write_sidecar(path, sign_sidecar(_ai_manifest(path), other_identity))
    assert verify(path, trusted_fingerprints=[identity.fingerprint]).problems == [UNKNOWN_SIGNER]
    untrusted = verify(path)  # no trust list: integrity only, with a note
    assert untrusted.ok and untrusted.notes
    bare = _picture(tmp_path / "bare.png")
    assert verify(bare).problems == [MISSING]


# --------------------------------------------------------------------------------------------------------------
# Embedded (c2pa-python)
# --------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["fox.png", "fox.jpg", "clip.mp4"])
def test_embed_round_trip_and_tamper(tmp_path, identity, other_identity, name):
    src = _mp4(tmp_path / name) if name.endswith(".mp4") else _picture(tmp_path / name)
    dst = embed(src, tmp_path / f"signed-{name}", _ai_manifest(src), identity)
    data = read_embedded(dst)
    assert data["validation_state"] == "Valid"  # valid, but our CA is on no public trust list
    assert data["manifest"]["title"] == "Fox"
    created = actions_of(data["manifest"])[0]
    assert created["digitalSourceType"] == TRAINED_ALGORITHMIC_MEDIA and created["parameters"]["seed"] == 7
    plain = verify_embedded(dst)
    assert plain.ok and plain.notes and plain.ai_generated
    trusted = verify_embedded(dst, trusted_roots=[identity.root_pem])
    assert trusted.ok and trusted.validation_state == "Trusted" and trusted.fingerprint == identity.fingerprint
    assert verify_embedded(dst, trusted_roots=[other_identity.root_pem]).problems == [UNKNOWN_SIGNER]
    # one byte of the picture/video data changed
    broken = bytearray(dst.read_bytes())
    at = broken.find(b"mdat") + 64 if name.endswith(".mp4") else len(broken) - 40
    broken[at] ^= 0xFF
    (tmp_path / f"bad-{name}").write_bytes(bytes(broken))
    bad = verify_embedded(tmp_path / f"bad-{name}")
    assert not bad.ok and HASH_MISMATCH in bad.problems


def test_embedded_manifest_edit_breaks_signature(tmp_path, identity):
    src = _picture(tmp_path / "fox.png")
    dst = embed(src, tmp_path / "signed.png", _ai_manifest(src), identity)
    data = bytearray(dst.read_bytes())
    at = data.find(b"a red fox")
    data[at] = ord("A")
    (tmp_path / "edited.png").write_bytes(bytes(data))
    result = verify_embedded(tmp_path / "edited.png")
    assert not result.ok and any(p.startswith(BAD_SIGNATURE) for p in result.problems)


def test_embed_refuses_unsupported_and_reads_unsigned(tmp_path, identity):
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(UnsupportedMedia):
        embed(text, tmp_path / "out.txt", {"title": "x"}, identity)
    assert read_embedded(_picture(tmp_path / "plain.png")) is None
    assert verify_embedded(tmp_path / "plain.png").problems == [MISSING]


# --------------------------------------------------------------------------------------------------------------
# CLI and imports
# --------------------------------------------------------------------------------------------------------------
def test_cli_exit_codes(tmp_path, identity, other_identity, keys_dir, capsys):
    path = _picture(tmp_path / "fox.png")
    write_sidecar(path, sign_sidecar(_ai_manifest(path), identity))
    assert cli_main(["verify", str(path), "--json", "--keys", str(keys_dir)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] and report["source"] == "sidecar" and report["fingerprint"] == identity.fingerprint
    assert cli_main(["verify", str(path), "--json", "--trust", other_identity.fingerprint]) == 1
    assert json.loads(capsys.readouterr().out)["problems"] == [UNKNOWN_SIGNER]
    signed = embed(path, tmp_path / "embedded.png", _ai_manifest(path), identity)
    assert cli_main(["verify", str(signed), "--keys", str(keys_dir)]) == 0
    assert "verified (embedded)" in capsys.readouterr().out
    assert cli_main(["verify", str(tmp_path / "missing.png")]) == 2
    path.write_bytes(path.read_bytes() + b"x")
    proc = subprocess.run([sys.executable, "-m", "engines.credentials", "verify", str(path), "--json"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 1 and json.loads(proc.stdout)["problems"] == [HASH_MISMATCH]


def test_import_is_light():
    code = ("import sys, engines.credentials; "
            "print(any(m in sys.modules for m in ('c2pa', 'cryptography', 'gradio', 'storage')))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
