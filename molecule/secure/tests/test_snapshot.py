"""Fault 3 and playbooks/snapshot.yml: a snapshot saved to the controller (timestamped, mode 0600, a
checksum beside it, the newest N kept) brings back the KV tree and the services after they are
destroyed; a snapshot that does not match its checksum restores nothing; the optional timer takes
local snapshots on one server with a token of its own."""

from __future__ import annotations

import hashlib
import shutil
import stat

from conftest import NODES
from labkit.ansible_runner import INVENTORY, ansible_playbook, flat, recap
from labkit.secure import Api, kv_checksum, management_token, service_counts
from labkit.waiting import wait_for

SNAPSHOTS = INVENTORY / ".consul-snapshots" / "dc1"
EXTERNAL = "snapshot-external"  # a catalog node no agent runs on: only a restore can bring it back


def snapshots() -> list:
    return sorted(SNAPSHOTS.glob("consul-dc1-*.snap"))


def ok(response) -> None:
    assert response.status_code == 200, f"{response.status_code} {response.text[:300]}"


def fill(api: Api) -> None:
    for index in range(100):
        ok(api.call("PUT", f"/v1/kv/snapshot-test/key-{index}", management_token(), data=f"value {index}"))
    for index in range(5):
        body = {
            "Node": EXTERNAL,
            "Address": "192.0.2.10",
            "Service": {"ID": f"ext-{index}", "Service": "ext-db", "Address": "192.0.2.10", "Port": 5432 + index},
        }
        ok(api.call("PUT", "/v1/catalog/register", management_token(), json=body))


def destroy(api: Api) -> None:
    """The KV tree and the external services gone, as after an operator's mistake."""
    ok(api.call("DELETE", "/v1/kv/?recurse", management_token()))
    ok(api.call("PUT", "/v1/catalog/deregister", management_token(), json={"Node": EXTERNAL}))


def test_3_a_restored_snapshot_brings_back_kv_and_services(api, tmp_path):
    fill(api)
    try:
        kv_before, services_before = kv_checksum(api), service_counts(api)
        assert kv_before[0] >= 100 and services_before["ext-db"] == 5
        saved = ansible_playbook("dockyard.discovery.snapshot")
        assert saved.returncode == 0, saved.stdout[-3000:] + saved.stderr[-2000:]
        newest = snapshots()[-1]
        assert stat.S_IMODE(newest.stat().st_mode) == 0o600
        checksum = newest.with_name(newest.name + ".sha256")
        assert stat.S_IMODE(checksum.stat().st_mode) == 0o600
        assert checksum.read_text().split()[0] == hashlib.sha256(newest.read_bytes()).hexdigest()

        destroy(api)
        assert kv_checksum(api)[0] == 0 and "ext-db" not in service_counts(api)

        # A snapshot altered after it was saved is refused, and nothing changes.
        altered = tmp_path / newest.name
        data = bytearray(newest.read_bytes())
        data[len(data) // 2] ^= 0xFF
        altered.write_bytes(bytes(data))
        shutil.copy(checksum, tmp_path / checksum.name)
        refused = ansible_playbook("dockyard.discovery.snapshot", "-e", f"snapshot_restore={altered}")
        assert refused.returncode != 0
        message = flat(refused.stdout + refused.stderr)
        assert "Nothing was restored" in message and "its checksum file says" in message
        assert kv_checksum(api)[0] == 0

        restored = ansible_playbook("dockyard.discovery.snapshot", "-e", f"snapshot_restore={newest}")
        assert restored.returncode == 0, restored.stdout[-3000:] + restored.stderr[-2000:]
        # Every server has the restored state, and the agents' own services are in sync again.
        for node in NODES.values():
            server = Api(node.address)
            wait_for(lambda s=server: kv_checksum(s) == kv_before, 30, 0.5, what=f"the KV tree on {node.name}")
        wait_for(lambda: service_counts(api) == services_before, 60, 1, what="the service counts")
        print(f"fault 3: {kv_before[0]} keys and {sum(services_before.values())} instances restored from {newest.name}")
    finally:
        api.call("DELETE", "/v1/kv/snapshot-test?recurse", management_token())
        api.call("PUT", "/v1/catalog/deregister", management_token(), json={"Node": EXTERNAL})


def test_saves_keep_the_newest_n(api):
    before = snapshots()
    assert len(before) >= 2  # the upgrade's and the restore test's at least
    result = ansible_playbook("dockyard.discovery.snapshot", "-e", "snapshot_keep=2")
    assert result.returncode == 0, result.stdout[-3000:]
    kept = snapshots()
    assert kept[0] == before[-1] and kept[1] not in before
    assert len(kept) == 2
    assert all(path.with_name(path.name + ".sha256").exists() for path in kept)
    assert len(list(SNAPSHOTS.glob("*.sha256"))) == 2


def test_the_timer_takes_local_snapshots_with_its_own_token(api):
    server = NODES["secure1"]  # the first server of the inventory
    try:
        result = ansible_playbook("dockyard.discovery.snapshot", "-e", "snapshot_timer=true")
        assert result.returncode == 0, result.stdout[-3000:]
        assert server.check("systemctl is-active consul-snapshot.timer").strip() == "active"
        server.check("systemctl start consul-snapshot.service", timeout=120)
        listing = server.check("stat -c '%a %n' /var/lib/consul-snapshots/consul-dc1-*.snap").split("\n")[:-1]
        assert listing and all(line.startswith("600 ") for line in listing), listing
        token = server.check("cat /etc/consul.d/snapshot.token").strip()
        assert token and token != management_token()
        again = ansible_playbook("dockyard.discovery.snapshot", "-e", "snapshot_timer=true")
        assert {changed for changed, _u, _f in recap(again.stdout).values()} == {0}, again.stdout[-3000:]
    finally:
        removed = ansible_playbook("dockyard.discovery.snapshot", "-e", "snapshot_timer=false")
        assert removed.returncode == 0, removed.stdout[-3000:]
    assert server.run("systemctl cat consul-snapshot.timer").returncode != 0
