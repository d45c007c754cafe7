# Copyright (c) dockyard.discovery contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The load_balancer role's files as the role renders them, on this machine, without a lab.

render_role_template() runs ansible-playbook on localhost with the role's defaults and vars and the
same template options as the role's tasks; extra vars (highest precedence) move every path into a
test directory and replace the commands nginx-apply runs. nginx_check_main() writes an nginx main
configuration that includes a check directory, as check-nginx.conf does, usable by any user.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest
from local_playbook import role_play, run_local_playbook

REPO = Path(__file__).resolve().parents[2]
ROLE = REPO / "roles" / "load_balancer"
SUPPORT = REPO / "tests" / "support"
BIN = Path(sys.executable).parent

# The role's tasks template the consul-template template with these delimiters.
CTMPL_OPTIONS = {"variable_start_string": "[[", "variable_end_string": "]]"}

TASKS = """    - name: Render {src}
      ansible.builtin.template:
        src: {role}/templates/{src}
        dest: {dest}
        mode: "{mode}"
{options}
"""


def run_once_only():
    """make unit runs tests/unit once per consul package; these files do not use it."""
    if os.environ.get("DOCKYARD_CONSUL_PACKAGE"):
        pytest.skip("the load balancer's files do not use the consul package: checked in the first run only")


def need_nginx() -> str:
    nginx = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if os.access(p, os.X_OK)), None)
    if not nginx:
        pytest.skip("nginx is not installed (apt-get install nginx-light): nginx -t is what these tests exercise")
    return nginx


def render_role_template(src: str, dest: Path, extra_vars: dict, workdir: Path, mode: str = "0644", **options):
    """Render roles/load_balancer/templates/<src> to dest as the role does, with extra_vars on top."""
    option_lines = "".join(f'        {key}: "{value}"\n' for key, value in options.items())
    text = role_play(ROLE, TASKS.format(role=ROLE, src=src, dest=dest, mode=mode, options=option_lines))
    run_local_playbook(text, workdir, extra_vars, name=f"render-{Path(src).stem}")
    return dest


def nginx_check_main(path: Path, include_dir: Path, prefix: Path) -> Path:
    """An nginx main configuration that includes include_dir/*.conf, with every file nginx -t opens
    (pid, logs, temp paths) under prefix."""
    for name in ("logs", "temp"):
        (prefix / name).mkdir(parents=True, exist_ok=True)
    temp_paths = "".join(
        f"  {kind}_temp_path {prefix}/temp/{kind};\n" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    path.write_text(
        f"pid {prefix}/nginx.pid;\n"
        f"error_log {prefix}/logs/error.log;\n"
        "events {}\n"
        "http {\n"
        f"  access_log off;\n{temp_paths}"
        f"  include {include_dir}/*.conf;\n"
        "}\n"
    )
    return path
