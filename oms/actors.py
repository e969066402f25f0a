from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    """Who performs a write: a user with their role in the tenant, an API token, or the system."""

    user: object | None = None
    role: str | None = None
    label: str = ""

    @classmethod
    def of_request(cls, request) -> "Actor":
        return cls(user=request.user, role=request.role, label=request.user.get_username())

    @classmethod
    def api(cls, token) -> "Actor":
        return cls(label=f"api:{token.name}")

    @classmethod
    def system(cls, label: str = "system") -> "Actor":
        return cls(label=label)

    @property
    def user_id(self):
        return getattr(self.user, "pk", None)

    @property
    def name(self) -> str:
        return self.label or (self.user.get_username() if self.user else "system")
