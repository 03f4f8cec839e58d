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


class NotAParticipant(ServiceError):
    """Only someone who took part in a session may rate it."""

    code = "not_a_participant"


class ChooseOccurrence(ServiceError):
    """A recurring task: the citizen picks one date or the whole series."""

    code = "choose_occurrence"

    def __init__(self, task_id: int, options: list[int]) -> None:
        super().__init__(task_id)
        self.task_id = task_id
        self.options = options
