"""Domain errors: each carries a message a person can read."""


class EaselError(Exception):
    """Base of every error Easel reports to a person."""


class PermissionDenied(EaselError):
    """The actor's role does not allow this action."""


class NotFound(EaselError):
    """The thing asked for does not exist."""


class InvalidInput(EaselError):
    """The input breaks a rule; nothing was changed."""


class StaleVersion(EaselError):
    """Someone else changed this in the meantime; reload and try again."""
