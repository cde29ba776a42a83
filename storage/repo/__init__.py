"""Repository functions: keyword-only, each takes the ``Session`` of the caller's transaction."""
from . import assets, jobs, preferences, projects, scripts, users

__all__ = ["assets", "jobs", "preferences", "projects", "scripts", "users"]
