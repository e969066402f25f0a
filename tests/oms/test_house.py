"""The house rules no import linter sees: the core names no screen of a higher app, apps register their screens
(header, start screen, settings links) instead, and each app writes only its own tables."""

import ast
import re
import tomllib
from pathlib import Path

import pytest
from django.apps import apps as django_apps
from django.core.exceptions import ImproperlyConfigured
from django.db.migrations.loader import MigrationLoader
from django.urls import reverse

from oms.models import Role
from oms.tenancy import navigation

ROOT = Path(__file__).resolve().parents[2]
HIGHER_APPS = ("inventory", "orders", "shipments", "notifications", "analytics")
APPS = ("oms", *HIGHER_APPS)
_HIGHER = "|".join(HIGHER_APPS)
URL_NAME = re.compile(rf"^({_HIGHER}):\w")
TEMPLATE_NAME = re.compile(rf"^({_HIGHER})/[\w./-]*\.(html|txt|xml)$")
TEMPLATE_REFERENCES = [
    re.compile(rf"""{{%\s*url\s+['"]({_HIGHER}):"""),
    re.compile(rf"""{{%\s*(include|extends|partial)\s+['"]({_HIGHER})/"""),
    re.compile(rf"""['"]({_HIGHER})/[\w./-]*\.html"""),
]


def core_python_files() -> list[Path]:
    return [path for path in (ROOT / "oms").rglob("*.py") if "migrations" not in path.parts]


def core_template_files() -> list[Path]:
    """The core's templates: oms/templates and the project-wide templates/ (base.html, registration, errors)."""
    return [path for folder in (ROOT / "oms" / "templates", ROOT / "templates") for path in folder.rglob("*.html")]


def higher_names_in_python(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        text = node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else ""
        if URL_NAME.match(text) or TEMPLATE_NAME.match(text):
            found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.value!r}")
    return found


def higher_names_in_template(path: Path) -> list[str]:
    found = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if any(pattern.search(line) for pattern in TEMPLATE_REFERENCES):
            found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    return found


# --- the core names no screen of a higher app ------------------------------------------------------------


def test_core_code_names_no_url_or_template_of_a_higher_app():
    files = core_python_files()
    assert len(files) > 20  # the scan looks where the code is
    found = [hit for path in files for hit in higher_names_in_python(path)]
    assert not found, "Register the screen from its own app instead:\n" + "\n".join(found)


def test_core_templates_name_no_url_or_template_of_a_higher_app():
    files = core_template_files()
    assert {"base.html", "settings.html", "password_change_form.html"} <= {path.name for path in files}
    found = [hit for path in files for hit in higher_names_in_template(path)]
    assert not found, "Register the link or fragment from its own app instead:\n" + "\n".join(found)


def test_the_scans_recognise_what_they_look_for(tmp_path):
    """The patterns catch the shapes the core used to have (a scan that cannot fail proves nothing)."""
    code = tmp_path / "code.py"
    code.write_text('redirect("orders:list")\nrender(request, "notifications/_alert_badge.html")\nx = "oms:settings"\n')
    template = tmp_path / "page.html"
    template.write_text(
        "<a href=\"{% url 'inventory:products' %}\">\n"
        '{% include "notifications/_alert_badge.html" %}\n'
        "<a href=\"{% url 'oms:settings' %}\">\n"
    )
    global ROOT
    saved, ROOT = ROOT, tmp_path
    try:
        assert len(higher_names_in_python(code)) == 2
        assert len(higher_names_in_template(template)) == 2
    finally:
        ROOT = saved


def test_import_linter_allows_no_upward_import():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    (layers,) = [c for c in config["contracts"] if c["type"] == "layers"]
    assert layers["layers"] == list(reversed(APPS))
    assert not layers.get("ignore_imports"), "oms.urls finds apps through their AppConfig; no exception is needed"


# --- screens come from the apps' registrations -----------------------------------------------------------

HEADER = {
    Role.OWNER: [
        "Orders",
        "Customers",
        "Products",
        "Packing",
        "Purchasing",
        "Alerts",
        "My tasks",
        "Incidents",
        "Analytics",
        "Settings",
    ],
    Role.ADMIN: ["Products", "Purchasing", "Alerts", "Settings"],
    Role.MANAGER: ["Orders", "Customers", "Products", "Packing", "Purchasing", "Alerts", "My tasks", "Incidents"],
    Role.PACKER: ["Packing", "Purchasing"],
    Role.COURIER: ["My route"],
}


@pytest.mark.django_db
@pytest.mark.parametrize("role", Role.values)
def test_the_header_shows_each_role_the_entries_the_apps_registered_in_order(client_for, role):
    html = client_for(role).get(reverse("password_change")).content.decode()
    menu = re.search(r'<nav class="mainnav".*?</nav>', html, re.S).group(0)
    assert re.findall(r">([^<>]+)</a>", menu) == HEADER[role]


@pytest.mark.django_db
def test_the_header_includes_the_alert_badge_notifications_registered(client_for):
    html = client_for(Role.MANAGER).get(reverse("password_change")).content.decode()
    assert 'id="alert-badge"' in html


@pytest.mark.django_db
def test_the_settings_page_links_the_screens_the_apps_registered(client_for):
    html = client_for(Role.ADMIN).get(reverse("oms:settings")).content.decode()
    links = re.findall(r'<a class="button" href="([^"]+)">([^<]+)</a>', html)
    assert links == [
        (reverse("orders:statuses"), "Statuses"),
        (reverse("orders:matrix"), "Transition matrix"),
        (reverse("notifications:settings"), "Automation"),
        (reverse("shipments:settings"), "Shipping and documents"),
        (reverse("inventory:products"), "Products and warehouses"),
    ]


def test_two_apps_cannot_claim_one_roles_start_screen():
    navigation.register_start_screen(role=Role.MANAGER, url_name="orders:list")  # the same again is fine
    with pytest.raises(ImproperlyConfigured, match="already starts on 'orders:list'"):
        navigation.register_start_screen(role=Role.MANAGER, url_name="shipments:packing")
    assert navigation.start_screen_for(Role.MANAGER) == "orders:list"


# --- each app writes its own tables ----------------------------------------------------------------------


def test_no_migration_depends_on_a_higher_apps_migration():
    """Inventory used to point at orders.OrderLine: a migration cycle between the two apps."""
    loader = MigrationLoader(None, ignore_no_migrations=True)
    upward = []
    for app, name in sorted(loader.graph.nodes):
        if app not in APPS:
            continue
        for needed, needed_name in loader.graph.forwards_plan((app, name)):
            if needed in APPS and APPS.index(needed) > APPS.index(app):
                upward.append(f"{app}.{name} needs {needed}.{needed_name}")
    assert not upward, "\n".join(upward)
    assert ("inventory", "0004_no_foreign_keys_to_orders") in loader.graph.nodes


def test_lower_apps_models_have_no_foreign_key_to_a_higher_app():
    higher_targets = []
    for model in django_apps.get_models(include_auto_created=True):
        app = model._meta.app_label
        if app not in APPS:
            continue
        for field in model._meta.concrete_fields:
            target = getattr(field, "related_model", None)
            target_app = target._meta.app_label if target is not None else None
            if target_app in APPS and APPS.index(target_app) > APPS.index(app):
                higher_targets.append(f"{model._meta.label}.{field.name} -> {target._meta.label}")
    assert not higher_targets, "\n".join(higher_targets)


WRITE_METHODS = {"update", "create", "delete", "bulk_create", "bulk_update", "get_or_create", "update_or_create"}
RAW_WRITE = re.compile(rf"\b(INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+\"?({'|'.join(APPS)})_\w+", re.I)
# Known, named exceptions, each with its reason (none today: the sweep's batch of events goes through
# oms.events.record_events).
ALLOWED_FOREIGN_WRITES: set[tuple] = set()


def app_modules(app: str) -> list[Path]:
    """An app's code that runs in the product. Migrations move data between versions; the demo and bulk seeders
    (management/commands/seed_*) build whole shops across apps for development and benchmarks."""
    return [
        path
        for path in (ROOT / app).rglob("*.py")
        if "migrations" not in path.parts and not (path.parent.name == "commands" and path.name.startswith("seed_"))
    ]


def foreign_writes(app: str, path: Path) -> list[tuple]:
    """(line, other app, model or table, how) for each write to another app's table in one module."""
    tree = ast.parse(path.read_text(), filename=str(path))
    foreign_models = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and not node.level:
            owner = node.module.split(".")[0]
            if owner in APPS and owner != app and node.module.endswith("models"):
                foreign_models.update({alias.asname or alias.name: owner for alias in node.names})
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in WRITE_METHODS:
            chain, root = [], node.func.value
            while isinstance(root, ast.Call | ast.Attribute):
                if isinstance(root, ast.Attribute):
                    chain.append(root.attr)
                root = root.func if isinstance(root, ast.Call) else root.value
            if isinstance(root, ast.Name) and root.id in foreign_models and "objects" in chain:
                found.append((node.lineno, foreign_models[root.id], root.id, node.func.attr))
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            for match in RAW_WRITE.finditer(node.value):
                if match.group(2) != app:
                    found.append((node.lineno, match.group(2), match.group(0), "SQL"))
    return found


def test_no_app_writes_another_apps_tables():
    """Deadlines lived on orders.Order, written by notifications; each app now writes only its own tables and asks
    the owner's services for the rest (orders → inventory.forget_lines, ...)."""
    found = []
    for app in APPS:
        for path in app_modules(app):
            relative = str(path.relative_to(ROOT))
            for line, owner, what, how in foreign_writes(app, path):
                if (relative, owner, what, how) not in ALLOWED_FOREIGN_WRITES:
                    found.append(f"{relative}:{line}: {how} on {owner}'s {what}")
    assert not found, "Call a service of the owning app instead:\n" + "\n".join(found)


def test_the_write_scan_recognises_what_it_looks_for(tmp_path):
    module = tmp_path / "sla.py"
    module.write_text(
        "from orders.models import Order, OrderStatus\n"
        "from .models import Alert\n"
        "Order.objects.filter(pk=1).update(sla_due_at=None)\n"
        "OrderStatus.objects.create(code='x')\n"
        "Alert.objects.filter(pk=1).delete()\n"
        "Order.objects.filter(pk=1).exists()\n"
        "SQL = 'UPDATE orders_order SET x = 1'\n"
        "OWN = 'INSERT INTO notifications_alert (x) VALUES (1)'\n"
    )
    assert [(owner, what, how) for _, owner, what, how in foreign_writes("notifications", module)] == [
        ("orders", "Order", "update"),
        ("orders", "OrderStatus", "create"),
        ("orders", "UPDATE orders_order", "SQL"),
    ]
