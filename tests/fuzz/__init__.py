"""Property/fuzz tests: damaged, wrong and extreme inputs through every engine entry point and the upload job.

``mutate`` makes the damaged files (deterministic by seed), ``seeds`` the real files they start from,
``entrypoints`` the table of engine entry points, ``sandbox`` runs one case in a sandboxed worker process with a wall-clock
and memory limit. ``bench/fuzz.py`` runs the same cases at a much larger count.
"""
