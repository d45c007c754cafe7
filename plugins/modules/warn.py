# Copyright (c) dockyard.discovery contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: warn
short_description: Print a warning
version_added: 0.2.0
description:
  - Returns O(msg) as a warning, which Ansible prints as C([WARNING]) with the run's other warnings
    and which callbacks receive as a warning, not as output. ansible-core 2.19 has no task that
    raises a warning; M(ansible.builtin.debug) only prints.
  - Changes nothing and runs the same in check mode.
author: dockyard.discovery contributors (@dockyard)
options:
  msg:
    description: The warning.
    type: str
    required: true
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    platforms: posix
"""

EXAMPLES = r"""
- name: Say that signatures are not checked
  dockyard.discovery.warn:
    msg: Release signatures are not verified on this host.
"""

RETURN = r"""
"""

from ansible.module_utils.basic import AnsibleModule


def main():
    module = AnsibleModule(argument_spec={"msg": {"type": "str", "required": True}}, supports_check_mode=True)
    module.warn(module.params["msg"])
    module.exit_json(changed=False)


if __name__ == "__main__":
    main()
