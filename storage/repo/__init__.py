"""Repository functions: keyword-only, each takes the ``Session`` of the caller's transaction."""
from . import assets, audience, jobs, preferences, projects, publications, scripts, users

__all__ = ["assets", "audience", "jobs", "preferences", "projects", "publications", "scripts", "users"]
