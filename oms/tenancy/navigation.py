"""The screens the core links to without knowing them: each app registers its own in its `AppConfig.ready()`.

- `register_navigation`: an entry of the header menu, for the roles that see it, at a position (lower first);
- `register_start_screen`: where a role lands after login (one screen per role);
- `register_settings_link`: a button on the settings page;
- `register_header_template`: a fragment the header includes next to the user menu (e.g. the alert badge).

So `oms` (code and templates) names no URL or template of a higher app, as a lower app never imports a higher
one (ARCHITECTURE.md); orders' `register_order_panel` does the same for the order page.
"""

from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured


@dataclass(frozen=True)
class Link:
    label: str
    url_name: str
    roles: tuple[str, ...]
    position: int


_navigation: list[Link] = []
_settings_links: list[Link] = []
_start_screens: dict[str, str] = {}
_header_templates: list[str] = []


def _add(links: list[Link], link: Link) -> None:
    if link not in links:
        links.append(link)
        links.sort(key=lambda entry: entry.position)


def register_navigation(*, label: str, url_name: str, roles, position: int) -> None:
    _add(_navigation, Link(label=label, url_name=url_name, roles=tuple(roles), position=position))


def navigation_for(role) -> list[tuple[str, str]]:
    """(label, url name) of the header entries the role sees, in header order."""
    return [(link.label, link.url_name) for link in _navigation if role in link.roles]


def register_settings_link(*, label: str, url_name: str, roles, position: int) -> None:
    _add(_settings_links, Link(label=label, url_name=url_name, roles=tuple(roles), position=position))


def settings_links_for(role) -> list[tuple[str, str]]:
    return [(link.label, link.url_name) for link in _settings_links if role in link.roles]


def register_start_screen(*, role: str, url_name: str) -> None:
    """A role lands on one screen; two apps claiming the same role is a configuration mistake, said at start-up."""
    current = _start_screens.setdefault(role, url_name)
    if current != url_name:
        raise ImproperlyConfigured(f"Role '{role}' already starts on '{current}', not '{url_name}'.")


def start_screen_for(role) -> str | None:
    """The role's registered start screen, else its first header entry (None: the role has no screen at all)."""
    if role in _start_screens:
        return _start_screens[role]
    entries = navigation_for(role)
    return entries[0][1] if entries else None


def register_header_template(template_name: str) -> None:
    if template_name not in _header_templates:
        _header_templates.append(template_name)


def header_templates() -> list[str]:
    return list(_header_templates)
