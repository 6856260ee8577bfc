"""Templates readers make in the portal, validated like YAML templates and kept under their owner.

A run receives one inline (`report_template.inline`), so the Dagster history
records the exact template each export used, even after its row changes.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, insert, or_, select, update

from sprint_exports.access import normalise_email
from sprint_exports.portal_db.database import utc_now
from sprint_exports.portal_db.tables import user_templates
from sprint_exports.templates import Template, parse_template

USER_TEMPLATE_PREFIX = "user:"  # how subscriptions and launches name a user template


@dataclass(frozen=True)
class UserTemplate:
    id: int
    owner_email: str
    template: Template
    published: bool

    @property
    def reference(self) -> str:
        return f"{USER_TEMPLATE_PREFIX}{self.id}"


def save_template(engine: Engine, owner_email: str, document: dict) -> int:
    """Validate `document` with the YAML templates' own rules (raises TemplateError) and store it."""
    template = parse_template(document, "Template form")
    with engine.begin() as connection:
        result = connection.execute(
            insert(user_templates).values(
                owner_email=normalise_email(owner_email), name=template.name,
                document=template.model_dump(mode="json"), published=False, created_at=utc_now(),
            )
        )
    return int(result.inserted_primary_key[0])


def _templates(engine: Engine, where) -> list[UserTemplate]:
    query = select(user_templates).order_by(user_templates.c.id)
    if where is not None:
        query = query.where(where)
    with engine.connect() as connection:
        rows = connection.execute(query).all()
    return [UserTemplate(r.id, r.owner_email, parse_template(r.document, f"Stored template {r.id}"), bool(r.published)) for r in rows]


def visible_templates(engine: Engine, email: str) -> list[UserTemplate]:
    """The caller's own templates and every published one: what they may use."""
    return _templates(engine, or_(user_templates.c.owner_email == normalise_email(email), user_templates.c.published.is_(True)))


def all_templates(engine: Engine) -> list[UserTemplate]:
    """Everyone's templates, for an admin choosing what to publish."""
    return _templates(engine, None)


def find_template(engine: Engine, email: str, reference: str) -> UserTemplate | None:
    """The user template `user:<id>` if `email` may use it."""
    if not reference.startswith(USER_TEMPLATE_PREFIX) or not reference[len(USER_TEMPLATE_PREFIX):].isdecimal():
        return None
    wanted = int(reference[len(USER_TEMPLATE_PREFIX):])
    return next((t for t in visible_templates(engine, email) if t.id == wanted), None)


def publish_template(engine: Engine, template_id: int, published: bool = True) -> bool:
    """Offer template `template_id` to everyone (or stop offering it); False when there is no such template.

    Only admins may do this: the caller checks (the portal's Templates page)."""
    with engine.begin() as connection:
        changed = connection.execute(update(user_templates).where(user_templates.c.id == template_id).values(published=published))
    return changed.rowcount == 1
