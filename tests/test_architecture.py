"""The rules that keep the tree easy to live in, checked."""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN_IN_CORE = {"streamlit", "apscheduler"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_core_imports_neither_streamlit_nor_the_scheduler():
    offenders = {
        str(path.relative_to(ROOT)): sorted(_imports(path) & FORBIDDEN_IN_CORE)
        for path in (ROOT / "core").rglob("*.py")
        if _imports(path) & FORBIDDEN_IN_CORE
    }
    assert offenders == {}


def test_pages_write_no_sql():
    pattern = re.compile(
        r"\bselect\(|session\.exec\(|\.commit\(\)|text\(|from sqlmodel|from sqlalchemy"
    )
    offenders = [
        str(path.relative_to(ROOT))
        for path in [*(ROOT / "pages").glob("*.py"), ROOT / "app.py"]
        if pattern.search(path.read_text())
    ]
    assert offenders == []


def test_no_unsafe_html_anywhere():
    offenders = [
        str(path.relative_to(ROOT))
        for folder in ("pages", "ui", "core", "jobs", "cli")
        for path in (ROOT / folder).rglob("*.py")
        if "unsafe_allow_html" in path.read_text()
    ]
    assert offenders == []


def test_xsrf_protection_is_on():
    config = (ROOT / ".streamlit" / "config.toml").read_text()
    assert re.search(r"^enableXsrfProtection\s*=\s*true", config, re.M)
