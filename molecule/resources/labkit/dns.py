"""DNS answers as dig prints them, and the names Consul gives."""

from __future__ import annotations


def srv_answer(lines: list[str]) -> tuple[list[tuple], dict]:
    """Parse `dig +noall +answer +additional ... SRV`: ([(priority, weight, port, target)], {name: [A]})."""
    srv, addresses = [], {}
    for line in lines:
        fields = line.split()
        if len(fields) >= 8 and fields[3] == "SRV":
            srv.append((int(fields[4]), int(fields[5]), int(fields[6]), fields[7]))
        elif len(fields) >= 5 and fields[3] == "A":
            addresses.setdefault(fields[0], []).append(fields[4])
    return srv, addresses


def addr_name(address: str, datacenter: str = "dc1") -> str:
    """The <hex>.addr.<dc>.consul. name Consul gives a service address in SRV answers."""
    return "".join(f"{int(part):02x}" for part in address.split(".")) + f".addr.{datacenter}.consul."
