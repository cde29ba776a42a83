"""MovieLens-100k-like synthetic ratings with item descriptions, for benchmarks and demos (no data download).

Items belong to one to three of eight genres; their latent factors are the genre loadings plus noise, and each genre
has its own average appeal. Users get random tastes, a bias and a heavy-tailed activity (at least 20 ratings, like
MovieLens). Which items a user rates follows a Zipf-like popularity (popular items are also a little better) and the
user's taste (missing not at random, as in real data). Ratings are ``μ + b_u + b_i + p_uᵀq_i + noise`` rounded and
clipped to 1..5. Each item gets a made-up title and a one-line description built from words of its genres.
"""
from __future__ import annotations

import numpy as np

from .data import Ratings, _ids

GENRES = {
    "science fiction": ["space", "aliens", "starship", "robots", "a distant planet", "time travel"],
    "horror": ["a haunted house", "ghosts", "a masked killer", "demons", "a cursed village", "blood"],
    "romance": ["love", "a wedding", "two strangers", "heartbreak", "a summer affair", "first kiss"],
    "comedy": ["slapstick", "a hilarious road trip", "pranks", "a wacky family", "jokes", "misadventures"],
    "documentary": ["true events", "interviews", "nature", "history", "a real investigation", "archival footage"],
    "action": ["explosions", "car chases", "a heist", "martial arts", "a lone hero", "gunfights"],
    "animation": ["cartoon animals", "a magical kingdom", "talking toys", "a princess", "fairy tales", "songs"],
    "crime drama": ["detectives", "the mafia", "a courtroom", "a murder trial", "corrupt police", "prison"],
}
GENRE_APPEAL = np.array([0.05, -0.35, -0.05, -0.1, 0.35, -0.05, 0.15, 0.25])
ADJECTIVES = ["Silent", "Last", "Golden", "Broken", "Hidden", "Crimson", "Lost", "Wild", "Final", "Midnight"]
NOUNS = ["Horizon", "Promise", "Shadow", "River", "Empire", "Garden", "Signal", "Winter", "Station", "Letter"]


def movielens_like(n_users: int = 943, n_items: int = 1682, n_ratings: int = 100_000, *, noise: float = 0.85,
                   seed: int = 0) -> tuple[Ratings, dict[str, str]]:
    """Ratings (string ids, integer 1..5, timestamps) and ``{item: description}``."""
    rng = np.random.default_rng(seed)
    n_genres = len(GENRES)
    # 1. Items: genres, factors, bias, popularity
    member = np.zeros((n_items, n_genres))
    for j in range(n_items):
        member[j, rng.choice(n_genres, size=rng.choice([1, 2, 3], p=[0.45, 0.4, 0.15]), replace=False)] = 1.0
    q = member * rng.uniform(0.6, 1.2, member.shape) + rng.normal(0, 0.2, member.shape)
    bi = member @ GENRE_APPEAL / member.sum(1) + rng.normal(0, 0.4, n_items)
    log_pop = -1.1 * np.log(rng.permutation(n_items) + 1.0) + 0.8 * bi + rng.normal(0, 0.5, n_items)
    # 2. Users: tastes, bias, activity (>= 20 ratings, heavy tail)
    p = rng.normal(0, 0.45, (n_users, n_genres))
    bu = rng.normal(0, 0.4, n_users)
    counts = _activity(rng, n_users, min(n_ratings, n_users * n_items // 2), cap=n_items // 2)
    # 3. Which items each user rates: popularity and taste (Gumbel top-k = sampling without replacement)
    affinity = p @ q.T
    keys = log_pop[None, :] + 0.8 * affinity / affinity.std() + rng.gumbel(size=(n_users, n_items))
    ranked = np.argsort(-keys, axis=1)
    users = np.repeat(np.arange(n_users), counts)
    items = np.concatenate([ranked[k, :c] for k, c in enumerate(counts)])
    # 4. Ratings
    raw = 3.3 + bu[users] + bi[items] + affinity[users, items] + rng.normal(0, noise, len(users))
    rating = np.clip(np.rint(raw), 1, 5)
    stamps = 874_724_710 + np.sort(rng.integers(0, 20_000_000, len(users)))[rng.permutation(len(users))]
    texts = {str(j + 1): _describe(rng, member[j]) for j in range(n_items)}
    ratings = Ratings(_ids([str(x + 1) for x in users]), _ids([str(x + 1) for x in items]), rating, stamps)
    return ratings, texts


def _activity(rng: np.random.Generator, n_users: int, total: int, cap: int) -> np.ndarray:
    """Ratings per user: 20 + a Pareto share of the rest, capped at ``cap``, summing to ``total`` where possible."""
    floor = min(20, cap)
    weights = rng.pareto(1.6, n_users) + 0.05
    counts = np.full(n_users, floor)
    for _ in range(20):  # hand out what is left in proportion to the weights of the users under the cap
        left = total - counts.sum()
        open_ = counts < cap
        if left <= 0 or not open_.any():
            break
        share = np.floor(left * weights * open_ / (weights * open_).sum()).astype(int)
        share[np.argmax(weights * open_)] += max(left - share.sum(), 0) if share.sum() == 0 else 0
        counts = np.minimum(counts + share, cap)
    return counts


def _describe(rng: np.random.Generator, member: np.ndarray) -> str:
    names = list(GENRES)
    genres = [names[g] for g in np.flatnonzero(member)]
    words = [w for g in genres for w in rng.choice(GENRES[g], size=2, replace=False)]
    title = f"The {rng.choice(ADJECTIVES)} {rng.choice(NOUNS)} ({rng.integers(1950, 1999)})"
    return f"{title}: a {' and '.join(genres)} film about {', '.join(words[:-1])} and {words[-1]}."


def split(ratings: Ratings, test_fraction: float = 0.2, *, seed: int = 0) -> tuple[Ratings, Ratings]:
    """A random train/test split of the rows."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(ratings))
    n_test = round(len(ratings) * test_fraction)
    return ratings.take(np.sort(order[n_test:])), ratings.take(np.sort(order[:n_test]))
