"""Domain errors: each maps to one clear answer for the citizen."""


class ServiceError(Exception):
    """Base class; `code` names the situation for callers that pick a reply."""

    code = "error"


class ConsentRequired(ServiceError):
    code = "consent_required"


class TaskNotFound(ServiceError):
    code = "task_not_found"


class TaskClosed(ServiceError):
    code = "task_closed"


class TaskFull(ServiceError):
    code = "task_full"


class AlreadySignedUp(ServiceError):
    code = "already_signed_up"


class NotSignedUp(ServiceError):
    code = "not_signed_up"


class InvalidInput(ServiceError):
    code = "invalid_input"
