"""labkit: what the Molecule verifiers of every scenario (default, single, secure) share: lab nodes
as testinfra hosts, Consul and nginx reached over the lab network, DNS answers parsed from dig,
containers started for a test, Ansible run against the lab, the secure lab's secrets and rogue
agents, and polling with a deadline.

Every wait is bounded in time and every loop in count, so a broken lab fails a test instead of
hanging it.

One job a module: waiting (wait_for), nodes (Node, the node containers seen from the controller),
containers (the demo and client images, containers a test starts), dns (dig answers), ports,
ansible_runner, secure, rogue, and fixtures (pytest fixtures a scenario's conftest imports).

How it is found: molecule/resources is on PYTHONPATH, set in the verifier's env in
.config/molecule/config.yml. By hand: PYTHONPATH=molecule/resources pytest ...
"""
