"""Errors of the store, with messages fit for a user (the UI shows them as they are)."""


class StoreError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(StoreError):
    pass


class Conflict(StoreError):
    pass


class InvalidValue(StoreError):
    pass


class Forbidden(StoreError):
    """The signed-in user's role does not allow this (checked in handlers, not only hidden in the UI)."""
