"""What a caller's role lets them see, whichever app serves the rows."""

from typing import Any

from engagement.api.permissions import role_of
from engagement.models import Role


def sees_personal_data(actor: Any) -> bool:
    """Analysts work on pseudonymised rows; everyone else in scope sees names and emails."""
    return role_of(actor) != Role.ANALYST
