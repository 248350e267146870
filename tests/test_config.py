from pathlib import Path

from core.config import Settings

README = Path(__file__).resolve().parents[1] / "README.md"


def test_database_url_defaults_to_sqlite_under_the_data_folder(monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("EASEL_DATA_DIR", "/srv/easel")
    assert Settings().url == "sqlite:////srv/easel/easel.db"


def test_database_url_is_read_as_is(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://u@h/db")
    assert Settings().url == "postgresql+psycopg://u@h/db"


def test_every_setting_is_documented_in_the_readme():
    text = README.read_text()
    for name in Settings.model_fields:
        variable = "DATABASE_URL" if name == "database_url" else f"EASEL_{name.upper()}"
        assert f"`{variable}`" in text, variable
