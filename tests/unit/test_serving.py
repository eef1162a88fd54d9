"""gunicorn.conf.py's reading of the ini's [server:main] for `gunicorn --paste INI`."""

from __future__ import annotations

from pathlib import Path

import pytest

from ampweb.serving import paste_bind, paste_ini, server_bind

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("argv", "environ", "expected"),
    [
        (["gunicorn", "--paste", "a.ini", "-c", "g.py"], {}, "a.ini"),
        (["gunicorn", "--paster=a.ini#main"], {}, "a.ini"),
        (["gunicorn", "-c", "g.py"], {"GUNICORN_CMD_ARGS": "--paste b.ini"}, "b.ini"),
        (["gunicorn", "--paste", "a.ini"], {"GUNICORN_CMD_ARGS": "--paste b.ini"}, "a.ini"),
        (["pserve", "production.ini"], {}, None),
        (["gunicorn", "--paste"], {}, None),
    ],
)
def test_paste_ini(argv: list[str], environ: dict[str, str], expected: str | None) -> None:
    found = paste_ini(argv, environ)
    assert found == (None if expected is None else str(Path(expected).absolute()))


def test_the_shipped_ini_binds_where_nginx_looks() -> None:
    """deploy/production.ini's [server:main] is nginx's upstream (deploy/nginx/nntsc.conf)."""
    ini = ROOT / "deploy" / "production.ini"
    assert server_bind(str(ini)) == "127.0.0.1:6543"
    assert server_bind(str(ini), "container") == "0.0.0.0:6543"
    assert "server 127.0.0.1:6543;" in (ROOT / "deploy" / "nginx" / "nntsc.conf").read_text()
    assert paste_bind(["gunicorn", "--paste", str(ini)], {}) == "127.0.0.1:6543"


def test_server_bind_forms(tmp_path: Path) -> None:
    ini = tmp_path / "x.ini"
    ini.write_text(
        "[server:main]\nhost = ::1\nport = 7000\n"
        "[server:hosts]\nhost = unix:/run/nntsc.sock\n"
        "[server:none]\nuse = egg:gunicorn#main\n"
    )
    assert server_bind(str(ini)) == "[::1]:7000"
    assert server_bind(str(ini), "hosts") == ["unix:/run/nntsc.sock"]
    assert server_bind(str(ini), "none") is None
    assert server_bind(str(ini), "absent") is None
    assert server_bind(str(tmp_path / "missing.ini")) is None
