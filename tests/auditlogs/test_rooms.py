"""The rooms of the audit app import only what their docstrings allow (docs/architecture.md)."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# room -> the packages it must not import (nor any module inside them)
FORBIDDEN = {
    "auditlogs/recording": ("orgs", "projects", "integrations", "auditlogs.web"),
    "auditlogs/storage": (
        "orgs", "projects", "integrations", "auditlogs.web", "auditlogs.integrity",
    ),
    "auditlogs/integrity": ("auditlogs.web",),
}
# Outside auditlogs/web itself, who may import the web room: URL and app wiring, and the
# other apps' request-facing modules that reuse the log page's viewer, filters and paging.
WEB_IMPORTERS = {
    "config/urls.py",
    "auditlogs/apps.py",
    "integrations/api.py",
    "integrations/views.py",
    "integrations/alerts.py",  # who may see an event is the page's rule (LogViewer)
    # The admin of each app: operators' changes are recorded as staff, and the organization's
    # page links its log (auditlogs/web/staff_changes.py, auditlogs/web/operators.py).
    "orgs/admin.py",
    "projects/admin.py",
    "integrations/admin.py",
}
SCANNED = ("auditlogs", "integrations", "orgs", "projects", "config", "tools")


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, at any depth (function-level imports included)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def python_files(folder: str):
    return sorted(p for p in (ROOT / folder).rglob("*.py") if "migrations" not in p.parts)


def inside(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def test_each_room_imports_only_what_it_may():
    broken = [
        f"{path.relative_to(ROOT)} imports {module}"
        for room, forbidden in FORBIDDEN.items()
        for path in python_files(room)
        for module in imported_modules(path)
        if any(inside(module, package) for package in forbidden)
    ]
    assert broken == []


def test_only_the_wiring_imports_the_web_room():
    broken = [
        f"{relative} imports {module}"
        for folder in SCANNED
        for path in python_files(folder)
        if not (relative := str(path.relative_to(ROOT))).startswith("auditlogs/web/")
        and relative not in WEB_IMPORTERS
        for module in imported_modules(path)
        if inside(module, "auditlogs.web")
    ]
    assert broken == []


def test_the_scan_sees_function_level_imports(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from orgs.models import Organization\n")
    assert "orgs.models" in imported_modules(module)
