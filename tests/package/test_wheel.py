# Copyright (c) dockyard.discovery contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Python package as a user gets it: built from this checkout, installed from the wheel into a
fresh virtual environment without Ansible, used against a real Consul agent."""

from __future__ import annotations

import base64
import json
import re
import tarfile
import zipfile

from conftest import REPO

MODULE_UTILS = REPO / "plugins" / "module_utils"


def galaxy_version() -> str:
    return re.search(r"^version:\s*(\S+)", (REPO / "galaxy.yml").read_text(), re.MULTILINE).group(1)


def example_source() -> str:
    text = (REPO / "docs" / "python-library.md").read_text()
    return text.split("```python\n", 1)[1].split("```", 1)[0]


def test_wheel_and_sdist_ship_the_module_utils_the_modules_ship(dist):
    """One copy: the private core is plugins/module_utils byte for byte, in the wheel and in the sdist."""
    shipped = {path.name: path.read_bytes() for path in MODULE_UTILS.glob("*.py")}
    with zipfile.ZipFile(dist["wheel"]) as wheel:
        names = wheel.namelist()
        core = {n.rsplit("/", 1)[1]: wheel.read(n) for n in names if n.startswith("dockyard_discovery/_core/")}
        metadata = wheel.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    assert core == shipped
    assert "dockyard_discovery/py.typed" in names
    assert not [n for n in names if n.startswith("ansible_collections/") or "__pycache__" in n]
    assert re.search(r"^Version: (.+)$", metadata, re.MULTILINE).group(1) == galaxy_version()
    assert "License-Expression: GPL-3.0-or-later" in metadata
    with tarfile.open(dist["sdist"]) as sdist:
        members = {m.name.split("/", 1)[1]: m for m in sdist.getmembers() if "/" in m.name}
        for name, content in shipped.items():
            assert sdist.extractfile(members[f"plugins/module_utils/{name}"]).read() == content
    assert {"galaxy.yml", "LICENSE", "pyproject.toml", "setup.py", "python/dockyard_discovery/cli.py"} <= set(members)
    # Nothing else of the collection (roles, modules, tests) goes into the sdist.
    assert not [name for name in members if name.startswith(("roles/", "plugins/modules/", "tests/", "molecule/"))]


def test_the_documented_example_runs_from_the_wheel_without_ansible(installed, agent):
    assert installed.run([installed.python, "-c", "import ansible"]).returncode != 0, "Ansible in the fresh venv"
    process = installed.run([installed.python, "-c", example_source(), "consul"], CONSUL_HTTP_ADDR=agent.address)
    assert process.returncode == 0, process.stderr
    lines = process.stdout.splitlines()
    raw = agent.http("GET", "/v1/health/service/consul?passing=1")
    expected = [
        [e["Node"]["Node"], f"{e['Service']['Address'] or e['Node']['Address']}:{e['Service']['Port']}", "passing"]
        for e in raw
    ]
    assert expected and [line.split() for line in lines[: len(expected)]] == expected
    assert lines[len(expected)].endswith(f"{len(expected)} instance(s)")
    assert lines[-1] == "hello"
    [entry] = agent.http("GET", "/v1/kv/example/greeting")
    assert base64.b64decode(entry["Value"]) == b"hello"


def test_an_unreachable_agent_is_one_line(installed):
    process = installed.run([installed.python, "-c", example_source()], CONSUL_HTTP_ADDR="127.0.0.1:1")
    assert process.returncode == 1
    assert process.stderr.startswith("unreachable: reading the healthy instances of service 'consul' failed")
    assert len(process.stderr.strip().splitlines()) == 1


def test_a_missing_consul_package_is_one_line_that_says_what_to_install(bare):
    assert bare.run([bare.python, "-c", "import consul"]).returncode != 0
    for argv in ([bare.python, "-c", example_source()], ["dockyard-discovery", "services"]):
        process = bare.run(argv)
        assert process.returncode == 1, process
        [line] = process.stderr.strip().splitlines()
        assert line.startswith("missing_library: the Python library python-consul2 or py-consul is missing")
        assert 'pip install "dockyard-discovery[python-consul2]"' in line


def cli(installed, agent, *args, stdin=None):
    from conftest import run

    return run(
        ["dockyard-discovery", *args], env=installed.env(CONSUL_HTTP_ADDR=agent.address), input=stdin, timeout=60
    )


def test_cli_version_is_the_collection_version(installed):
    for argv in (["dockyard-discovery", "--version"], [installed.python, "-m", "dockyard_discovery", "--version"]):
        process = installed.run(argv)
        assert process.returncode == 0 and process.stdout.split() == ["dockyard-discovery", galaxy_version()]


def test_cli_services_and_service_match_the_agent(installed, agent):
    agent.http(
        "PUT", "/v1/agent/service/register", {"Name": "cli-web", "ID": "cli-web-1", "Port": 8080, "Tags": ["b", "a"]}
    )
    try:
        services = cli(installed, agent, "-o", "json", "services")
        assert services.returncode == 0, services.stderr
        # The library gives each service's tags sorted (the modules and lookups do too).
        catalog = agent.http("GET", "/v1/catalog/services")
        assert json.loads(services.stdout) == {name: sorted(tags) for name, tags in catalog.items()}
        table = cli(installed, agent, "services").stdout.splitlines()
        assert table[0].split() == ["NAME", "TAGS"] and ["cli-web", "a,b"] in [line.split() for line in table]

        instances = json.loads(cli(installed, agent, "-o", "json", "service", "cli-web").stdout)
        assert [(i["service_id"], i["port"], i["tags"]) for i in instances] == [("cli-web-1", 8080, ["b", "a"])]
        rows = [line.split() for line in cli(installed, agent, "service", "cli-web", "--tag", "a").stdout.splitlines()]
        node = agent.http("GET", "/v1/agent/self")["Config"]["NodeName"]
        assert (
            rows[0] == ["NODE", "ENDPOINT", "STATUS", "TAGS"]
            and rows[1][0] == node
            and rows[1][2:] == ["passing", "b,a"]
        )
        assert cli(installed, agent, "service", "cli-web", "--tag", "zzz").stdout.splitlines()[1:] == []
    finally:
        agent.deregister("cli-web-1")


def test_cli_an_unknown_service_or_key_is_not_found(installed, agent):
    for args, fragment in (
        (("service", "no-such-service"), "service 'no-such-service' is not in the catalog"),
        (("kv", "get", "no/such/key"), "no key named 'no/such/key'"),
    ):
        process = cli(installed, agent, *args)
        assert process.returncode == 1 and process.stdout == ""
        assert process.stderr.startswith("not_found: ") and fragment in process.stderr


def test_cli_kv_put_get_and_cas(installed, agent):
    assert cli(installed, agent, "kv", "put", "cli/one", "first").returncode == 0
    assert cli(installed, agent, "kv", "put", "cli/two", "-", stdin="from\nstdin").returncode == 0
    assert cli(installed, agent, "kv", "get", "cli/two").stdout == "from\nstdin\n"
    entries = json.loads(cli(installed, agent, "-o", "json", "kv", "get", "cli/", "--recurse").stdout)
    assert [(e["key"], e["value"]) for e in entries] == [("cli/one", "first"), ("cli/two", "from\nstdin")]
    # The value's newline is written escaped in a table cell.
    assert "cli/two  from\\x0astdin" in cli(installed, agent, "kv", "get", "cli/", "--recurse").stdout
    index = entries[0]["modify_index"]
    refused = cli(installed, agent, "kv", "put", "cli/one", "second", "--cas", str(index + 1000))
    assert refused.returncode == 1 and refused.stderr.startswith("cas_failed: ")
    assert cli(installed, agent, "kv", "get", "cli/one").stdout == "first\n"
    assert cli(installed, agent, "kv", "put", "cli/one", "second", "--cas", str(index)).returncode == 0
    assert cli(installed, agent, "kv", "get", "cli/one").stdout == "second\n"
    agent.http("DELETE", "/v1/kv/cli/?recurse")


def test_cli_members_and_a_tag_with_terminal_escapes(installed, agent):
    rows = [line.split() for line in cli(installed, agent, "members").stdout.splitlines()]
    [member] = agent.http("GET", "/v1/agent/members")
    assert rows[0][:3] == ["NAME", "ADDRESS", "STATUS"] and rows[1][:3] == [
        member["Name"],
        f"{member['Addr']}:{member['Port']}",
        "alive",
    ]
    agent.http("PUT", "/v1/agent/service/register", {"Name": "cli-esc", "ID": "cli-esc-1", "Tags": ["\x1b[31mred"]})
    try:
        table = cli(installed, agent, "services").stdout
        assert "\x1b" not in table and "\\x1b[31mred" in table
    finally:
        agent.deregister("cli-esc-1")


def test_cli_usage_and_connection_errors(installed, agent):
    usage = cli(installed, agent, "kv", "frobnicate")
    assert usage.returncode == 2 and "invalid choice" in usage.stderr
    bad_port = cli(installed, agent, "--port", "0", "services")
    assert bad_port.returncode == 1 and bad_port.stderr.startswith("invalid_argument: ")
    unreachable = cli(installed, agent, "--port", "1", "services")
    assert unreachable.returncode == 1 and unreachable.stderr.startswith("unreachable: ")
    assert len(unreachable.stderr.strip().splitlines()) == 1
