"""Lineage of an asset (which prompts, models, seeds, uploads and human edits led to it) and the rule that
splits the credit for a final file between people and AI.

Contribution rule (documented in the README, "Provenance and disclosure"):

1. *AI data share* D(n) of each asset n, from its sources upwards:
   - an asset a model produced from a prompt (provenance ``source == "generated"``) is 1;
   - an upload is 0, unless an AI watermark or a content credential saying it is AI-made was found on it (1);
   - an asset derived or edited from others is the weighted mean of its parents' D — weight = the parent's
     duration in seconds; a parent without one (an image) gets the child's duration shared among such parents,
     or 1 when the child has no duration either; subtitle and timeline text parents carry no picture or sound
     and only count when nothing else does.
2. *Human edit operations* H = the human edits recorded on the asset and all its ancestors (each one a decision
   a person made: trimming, toggling clips, correcting captions, …).
3. AI share V = D(final) × (1 − min(0.5, 0.1 × H)): every human edit moves a tenth of the credit to people,
   up to half. Human share = 1 − V. A file "contains AI-generated material" when D(final) > 0.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from ..errors import NotFound
from ..models import Asset, AssetKind, AssetLink

MAX_NODES = 400
TEXT_KINDS = {AssetKind.subtitle, AssetKind.timeline}
HUMAN_STEP, HUMAN_CAP = 0.1, 0.5


@dataclass
class Node:
    id: int
    name: str
    kind: str
    source: str
    engine: str | None = None
    backend: str | None = None
    model_id: str | None = None
    prompt: str | None = None
    seed: int | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    human_edits: list[Any] = field(default_factory=list)
    duration_s: float | None = None
    content_hash: str = ""
    mime: str | None = None
    created_by: str | None = None
    created_at: str | None = None
    ai_marked: bool = False  # an upload on which an AI watermark or credential was found
    depth: int = 0

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class Lineage:
    root: int
    nodes: dict[int, Node]
    edges: list[tuple[int, int, str]]  # (parent, child, role)

    def parents(self, asset_id: int) -> list[tuple[int, str]]:
        return [(p, r) for p, c, r in self.edges if c == asset_id]

    def as_dict(self) -> dict[str, Any]:
        return {"root": self.root, "nodes": [n.as_dict() for n in self.nodes.values()],
                "edges": [{"parent": p, "child": c, "role": r} for p, c, r in self.edges]}


def _node(asset: Asset, depth: int) -> Node:
    prov = asset.provenance
    meta = asset.meta or {}
    marked = bool((meta.get("watermark") or {}).get("found")) or bool((meta.get("credentials") or {}).get(
        "ai_generated"))
    return Node(id=asset.id, name=asset.name, kind=asset.kind.value, source=prov.source if prov else "upload",
                engine=prov.engine if prov else None, backend=prov.backend if prov else None,
                model_id=prov.model_id if prov else None, prompt=prov.prompt if prov else None,
                seed=prov.seed if prov else None, parameters=dict(prov.parameters or {}) if prov else {},
                human_edits=list(prov.human_edits or []) if prov else [], duration_s=asset.duration_s,
                content_hash=asset.content_hash, mime=asset.mime,
                created_by=prov.created_by.name if prov and prov.created_by else None,
                created_at=asset.created_at.isoformat() if asset.created_at else None, ai_marked=marked, depth=depth)


def lineage(*, session: Session, asset_id: int) -> Lineage:
    """The asset and every ancestor (breadth first, at most ``MAX_NODES``), with the links between them."""
    root = session.get(Asset, asset_id)
    if root is None:
        raise NotFound(f"Asset #{asset_id} does not exist (it may have been deleted).")
    nodes = {root.id: _node(root, 0)}
    edges: list[tuple[int, int, str]] = []
    frontier = [root.id]
    while frontier and len(nodes) < MAX_NODES:
        links = list(session.scalars(select(AssetLink).where(AssetLink.child_id.in_(frontier))))
        new_ids = sorted({link.parent_id for link in links} - set(nodes))[:MAX_NODES - len(nodes)]
        depth = {c: nodes[c].depth for c in frontier}
        parents = {a.id: a for a in session.scalars(select(Asset).options(selectinload(Asset.provenance))
                                                      .where(Asset.id.in_(new_ids)))} if new_ids else {}
        for link in links:
            if link.parent_id in parents and link.parent_id not in nodes:
                nodes[link.parent_id] = _node(parents[link.parent_id], depth[link.child_id] + 1)
            if link.parent_id in nodes:
                edges.append((link.parent_id, link.child_id, link.role))
        frontier = list(parents)
    return Lineage(root=root.id, nodes=nodes, edges=edges)


@dataclass(frozen=True)
class Contribution:
    ai_data_share: float     # D: share of the final picture/sound that comes from AI-generated sources
    human_edit_ops: int      # H
    ai_share: float          # V
    human_share: float
    ai_generated: bool
    sources: dict[str, float]  # share of D per AI source asset name (for the explanation)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def sentence(self) -> str:
        if not self.ai_generated:
            return (f"No AI-generated material: {self.human_share:.0%} human-made "
                    f"({self.human_edit_ops} recorded human edit(s)).")
        return (f"{self.ai_data_share:.0%} of the picture and sound comes from AI-generated sources; with "
                f"{self.human_edit_ops} recorded human edit(s) the credit is {self.ai_share:.0%} AI, "
                f"{self.human_share:.0%} human.")


def _weights(graph: Lineage, child: Node, parents: list[Node]) -> list[float]:
    media = [p for p in parents if AssetKind(p.kind) not in TEXT_KINDS] or parents
    untimed = [p for p in media if not p.duration_s]
    share = (child.duration_s / len(untimed)) if child.duration_s and untimed else 1.0
    return [(p.duration_s or share) if p in media else 0.0 for p in parents]


def data_shares(graph: Lineage) -> dict[int, tuple[float, dict[str, float]]]:
    """Rule step 1 for every node of the graph: (D, share of D per AI source asset name)."""
    memo: dict[int, tuple[float, dict[str, float]]] = {}

    def ai(node_id: int, seen: frozenset[int]) -> tuple[float, dict[str, float]]:
        if node_id in memo:
            return memo[node_id]
        node = graph.nodes[node_id]
        parents = [graph.nodes[p] for p, _ in graph.parents(node_id) if p not in seen and p in graph.nodes]
        if node.source == "generated" or node.ai_marked:
            out = (1.0, {node.name: 1.0})
        elif not parents:
            out = (0.0, {})
        else:
            weights = _weights(graph, node, parents)
            total = sum(weights) or 1.0
            d, srcs = 0.0, {}
            for p, w in zip(parents, weights):
                pd_, psrc = ai(p.id, seen | {node_id})
                d += w / total * pd_
                for name, s in psrc.items():
                    srcs[name] = srcs.get(name, 0.0) + w / total * s
            out = (d, srcs)
        memo[node_id] = out
        return out

    for node_id in graph.nodes:
        ai(node_id, frozenset())
    return memo


def contribution(graph: Lineage) -> Contribution:
    """Apply the module's rule to a lineage graph."""
    d, sources = data_shares(graph)[graph.root]
    h = sum(len(n.human_edits) for n in graph.nodes.values())
    v = d * (1.0 - min(HUMAN_CAP, HUMAN_STEP * h))
    return Contribution(ai_data_share=round(d, 6), human_edit_ops=h, ai_share=round(v, 6),
                        human_share=round(1.0 - v, 6), ai_generated=d > 0.0,
                        sources={k: round(s, 6) for k, s in sorted(sources.items(), key=lambda kv: -kv[1])})
