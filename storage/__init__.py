"""The project store: SQLAlchemy models, repository functions, migrations and the media files."""
from .config import Settings, get_settings, load_settings
from .db import Store, open_store
from .media import MediaStore, StoredFile
from .models import Asset, AssetKind, Job, JobStatus, Preference, Project, Provenance, Script, ScriptVersion, User

__all__ = ["Settings", "get_settings", "load_settings", "Store", "open_store", "MediaStore", "StoredFile",
           "Asset", "AssetKind", "Job", "JobStatus", "Preference", "Project", "Provenance", "Script",
           "ScriptVersion", "User"]
