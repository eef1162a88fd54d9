"""nntsc takes the web app's tables and commands through entry points, never by importing it."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from nntsc.cli import main as cli
from nntsc.plugins import command_names, declared_metadata

ROOT = Path(__file__).resolve().parents[2]


def test_nntsc_imports_nothing_above_it() -> None:
    """No module of nntsc names ampy or ampweb in an import (dependencies point down)."""
    offenders = []
    for path in sorted((ROOT / "nntsc").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            offenders += [
                f"{path.relative_to(ROOT)}:{node.lineno} {name}"
                for name in names
                if name.split(".")[0] in ("ampy", "ampweb")
            ]
    assert offenders == []


def test_running_a_collector_command_loads_no_web_app() -> None:
    """Plug-in commands are loaded only when asked for: `nntsc collect` stays free of ampweb."""
    code = (
        "import sys\n"
        "from nntsc.cli import main\n"
        "main.get_command(None, 'collect')\n"
        "import nntsc.store.paths, nntsc.store.models, nntsc.config\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'ampweb', 'ampy'}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert result.stdout.strip() == "[]"


def test_loading_the_cli_imports_no_command_s_own_modules() -> None:
    """Every process pays for what `nntsc.cli` imports at load time: `nntsc collect` (started
    once per collector) must not load the NNTSC importer's conversions, the demo's simulators
    or tqdm only because other commands' help or progress bars name them."""
    code = (
        "import sys\n"
        "from nntsc.cli import main\n"
        "main.get_command(None, 'collect')\n"
        "print(sorted(m for m in sys.modules if m == 'tqdm'"
        " or m.startswith(('nntsc.legacy', 'nntsc.demo'))))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert result.stdout.strip() == "[]"
    # The help that names them still does, once shown.
    demo = CliRunner().invoke(cli, ["demo-data", "--help"])
    assert demo.exit_code == 0, demo.output
    assert "traceroute" in demo.output
    assert "or all" in demo.output
    legacy = CliRunner().invoke(cli, ["import", "nntsc", "--help"])
    assert legacy.exit_code == 0, legacy.output
    assert "amp_icmp:" in legacy.output
    assert "Import an NNTSC 2.x deployment" in CliRunner().invoke(cli, ["import", "--help"]).output


def test_the_declared_metadata_loads_the_accounts_tables_only() -> None:
    """Every nntsc process with a session loads the plug-in tables; the accounts' registry
    (argon2, the site registry) is loaded only by what uses it."""
    code = (
        "import sys\n"
        "from nntsc.plugins import declared_metadata\n"
        "declared_metadata()\n"
        "print(sorted(m for m in ('ampweb.accounts.models', 'ampweb.accounts.registry', 'argon2')"
        " if m in sys.modules))\n"
        "from ampweb.accounts import UserRegistry\n"
        "print(UserRegistry.__module__)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert result.stdout.split("\n")[:2] == [
        "['ampweb.accounts.models']",
        "ampweb.accounts.registry",
    ]


def test_the_accounts_tables_join_the_declared_metadata() -> None:
    tables = declared_metadata().tables
    assert {"users", "api_tokens", "events", "traceroute_ip_paths"} <= set(tables)
    assert tables["api_tokens"].c.username.references(tables["users"].c.username)


def test_nntsc_offers_the_user_commands_of_ampweb() -> None:
    assert "user" in command_names()
    listed = CliRunner().invoke(cli, ["--help"])
    assert listed.exit_code == 0, listed.output
    assert "user" in listed.output.split("Commands:")[1]
    helped = CliRunner().invoke(cli, ["user", "--help"])
    assert helped.exit_code == 0, helped.output
    assert "add" in helped.output
    assert "token" in helped.output
    unknown = CliRunner().invoke(cli, ["no-such-command"])
    assert unknown.exit_code == 2
    assert "No such command" in unknown.output


def test_a_nntsc_process_writes_rows_that_refer_to_plug_in_tables(tmp_path: Path) -> None:
    """Event filters name a user: a process without the web app still resolves that foreign key."""
    from ampweb.accounts import UserRegistry
    from tests.conftest import make_services

    url = f"sqlite:///{tmp_path}/nntsc.sqlite"
    services = make_services(url)
    try:
        UserRegistry(services.sessionmaker).create_user("alice", None, ["viewdata"])
    finally:
        services.close()
    code = (
        "import sys\n"
        "from nntsc.config import Services\n"
        "from nntsc.events.models import EventFilter\n"
        f"services = Services.from_settings({{'nntsc.sql_url': {url!r}}}, environ={{}})\n"
        "with services.sessionmaker.begin() as session:\n"
        "    session.add(EventFilter(username='alice', name='mine', filter={}, created=1,"
        " updated=1))\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'pyramid', 'ampy'}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "[]"


def test_sessions_declare_the_data_and_rollup_tables_as_they_are_used() -> None:
    """A process with a session declares the SQL store's data and rollup tables only when
    it uses them (a collector writing to InfluxDB never does); the whole schema has them."""
    code = (
        "from nntsc.collections import get\n"
        "from nntsc.config import Services\n"
        "from nntsc.plugins import declared_metadata\n"
        "from nntsc.store.models import data_table, metadata, rollup_table\n"
        "Services.from_settings({'nntsc.sql_url': 'sqlite://'}, environ={}).sessionmaker\n"
        "def series():\n"
        "    return sorted(n for n in metadata.tables if n.startswith(('data_', 'rollup_amp')))\n"
        "print(len(series()), 'streams_amp_icmp' in metadata.tables, 'users' in metadata.tables)\n"
        "icmp = get('amp-icmp')\n"
        "assert data_table(icmp) is data_table(icmp)\n"
        "assert rollup_table(icmp, 3600).name == 'rollup_amp_icmp_3600'\n"
        "print(series())\n"
        "declared_metadata()\n"
        "from nntsc.collections import all_collections\n"
        "names = {f'data_{c.slug}' for c in all_collections()} | {\n"
        "    f'rollup_{c.slug}_{level}'\n"
        "    for c in all_collections() for level in (300, 3600, 86400)}\n"
        "print(names <= metadata.tables.keys())\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert result.stdout.split("\n")[:3] == [
        "0 True True",
        "['data_amp_icmp', 'rollup_amp_icmp_300', 'rollup_amp_icmp_3600', 'rollup_amp_icmp_86400']",
        "True",
    ]


def test_a_series_table_is_declared_once_by_threads_asking_at_once() -> None:
    code = (
        "import threading\n"
        "from nntsc.collections import get\n"
        "from nntsc.store.models import data_table, rollup_table\n"
        "barrier = threading.Barrier(8)\n"
        "found, errors = [], []\n"
        "def ask():\n"
        "    barrier.wait()\n"
        "    try:\n"
        "        found.append((data_table(get('amp-dns')), rollup_table(get('amp-dns'), 300)))\n"
        "    except Exception as error:\n"
        "        errors.append(error)\n"
        "threads = [threading.Thread(target=ask) for _ in range(8)]\n"
        "[t.start() for t in threads]; [t.join() for t in threads]\n"
        "print(errors, len(set(found)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert result.stdout.strip() == "[] 1"
