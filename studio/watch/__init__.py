"""The public side of the studio: watch pages (``/watch/<slug>``) and the endpoints their player reports to."""
from .routes import make_router

__all__ = ["make_router"]
