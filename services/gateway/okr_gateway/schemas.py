"""HTTP models of identity: users, tokens, API keys and the security log.

Requests refuse unknown fields (no mass assignment); passwords are write-only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Self

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    SecretStr,
    StringConstraints,
    model_validator,
)

from okr_gateway.scopes import Scope
from okr_gateway.security_log import EventKind
from okr_shared.contracts.common import Role
from okr_shared.contracts.fields import Department, NoNul

Username = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        to_lower=True,
        min_length=3,
        max_length=50,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
    ),
    Field(description="3-50 characters: letters, digits, '.', '_' or '-'; stored in lower case"),
]


def _unicode_text(value: SecretStr) -> SecretStr:
    """JSON may carry a lone surrogate (`"\\ud800"`): valid JSON, but no text a hash can take."""
    try:
        value.get_secret_value().encode()
    except UnicodeEncodeError:
        raise ValueError("must be Unicode text (it holds an unpaired surrogate)") from None
    return value


UnicodeSecret = AfterValidator(_unicode_text)
Password = Annotated[
    SecretStr, Field(min_length=8, max_length=256, description="write-only"), UnicodeSecret
]
FullName = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200), NoNul]


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LoginRequest(Request):
    username: Annotated[
        str, StringConstraints(strip_whitespace=True, to_lower=True, max_length=50), NoNul
    ]
    password: Annotated[SecretStr, Field(max_length=256), UnicodeSecret]


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type
    expires_in: int = Field(description="seconds until the token expires")


class PasswordChange(Request):
    current_password: Annotated[SecretStr, Field(max_length=256), UnicodeSecret]
    new_password: Password


class UserCreate(Request):
    username: Username
    password: Password
    full_name: FullName = ""
    email: EmailStr | None = None
    role: Role = Role.EMPLOYEE
    department: Department | None = None
    is_active: bool = True


class UserUpdate(Request):
    """Every field optional; `password` resets the password. Only `email` and `department`
    may be set to null (to clear them)."""

    full_name: FullName | None = None
    email: EmailStr | None = None
    role: Role | None = None
    department: Department | None = None
    is_active: bool | None = None
    password: Password | None = None

    @model_validator(mode="after")
    def _no_null_for_required_columns(self) -> Self:
        cleared = [
            name
            for name in ("full_name", "role", "is_active", "password")
            if name in self.model_fields_set and getattr(self, name) is None
        ]
        if cleared:
            raise ValueError(f"{', '.join(cleared)} cannot be null; leave the field out to keep it")
        return self


class UserResponse(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    full_name: str
    email: str | None
    role: Role
    department: str | None
    is_active: bool
    created_at: datetime
    updated_at: datetime


class UserNames(BaseModel):
    """Display names by user id: what an OKR tree shows beside each objective's owner."""

    names: dict[int, str]


class ApiKeyCreate(Request):
    name: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), NoNul
    ]
    scopes: Annotated[
        list[Scope],
        Field(min_length=1, max_length=len(Scope), description="what the key may do"),
    ]
    expires_at: AwareDatetime | None = Field(
        default=None, description="when it stops working (with a time zone); none: never"
    )
    current_password: Annotated[
        SecretStr,
        Field(
            max_length=256,
            description="yours, again: a key outlives sign-outs and password changes, so a "
            "stolen session token alone must not be enough to make one",
        ),
        UnicodeSecret,
    ]


class ApiKeyResponse(BaseModel):
    """A key as listed: never the key itself, which only its creation shows."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    user_id: int
    name: str
    prefix: str = Field(description="the key starts okr_<prefix>_: which key is which")
    scopes: list[str]
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None = Field(description="to the minute")
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyResponse):
    key: str = Field(description="Authorization: Bearer <key>; shown this once, kept nowhere")


class SecurityEventResponse(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    kind: EventKind
    actor_id: int | None = Field(description="who did it (none: not signed in)")
    user_id: int | None = Field(description="whose account it concerns")
    username: str | None
    client_address: str | None
    api_key_id: int | None
    detail: str
