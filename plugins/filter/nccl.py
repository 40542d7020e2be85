# Copyright: gpuhost contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
name: nccl_ifnames
short_description: The network interfaces an NCCL_SOCKET_IFNAME value selects
version_added: 0.2.0
author: gpuhost contributors
description:
  - Applies NCCL's rules for C(NCCL_SOCKET_IFNAME) to a host's interface names, a comma-separated list of
    prefixes (C(eth) selects C(eth0) and C(eth1)), C(=) before it for exact names, C(^) to exclude.
  - An empty result means NCCL would find no interface and fail (or, where the value came from a typo, pick
    none the user meant); verify_cluster.yml stops before torchrun starts and names the host.
positional: spec
options:
  _input:
    description: The host's interface names, e.g. the entries of C(/sys/class/net).
    type: list
    elements: str
    required: true
  spec:
    description: The C(NCCL_SOCKET_IFNAME) value, e.g. C(eth0), C(ens,eth), C(=eth0), C(^docker,lo).
    type: str
    required: true
"""

EXAMPLES = r"""
- name: NCCL_SOCKET_IFNAME names an interface of this host
  ansible.builtin.assert:
    that: (interfaces | gpuhost.provision.nccl_ifnames('eth0')) | length > 0
"""

RETURN = r"""
_value:
  description: The interfaces selected, in the order given; empty when none matches.
  type: list
  elements: str
"""

from ansible_collections.gpuhost.provision.plugins.module_utils.gpu_cluster import ifname_matches


def nccl_ifnames(interfaces, spec):
    return ifname_matches(str(spec), [str(name) for name in interfaces])


class FilterModule:
    def filters(self):
        return {"nccl_ifnames": nccl_ifnames}
