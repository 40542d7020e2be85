"""Every boolean role variable is read through `| bool`, so `-e name=false` (a string) means false.

ansible-core 2.19 refuses a conditional whose result is a string ("Conditionals must have a boolean
result"), and in a Jinja `x if name else y` the string "false" is true. The argument spec accepts "false"
for a bool, so the tasks must convert it. This reads every conditional and every Jinja expression in the
roles and playbooks and names each bool-typed variable used without `| bool`.
The dynamic counterpart is molecule/toolkit/tests/test_bool_strings.py (site.yml with "false" strings).
"""

import glob
import os
import re

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CONDITIONAL_KEYS = {"when", "changed_when", "failed_when", "until", "that"}
JINJA = re.compile(r"{{.*?}}|{%.*?%}", re.DOTALL)

# Lines owned by other work in progress when this test was written (issue 11: the toolkit's default_runtime
# and nvidia_driver's booleans). Remove an entry once its file reads the variable through `| bool`.
PENDING = {
    ("roles/nvidia_container_toolkit/tasks/docker_runtime.yml", "nvidia_container_toolkit_default_runtime"),
}


def bool_variables():
    names = set()
    for path in glob.glob(os.path.join(ROOT, "roles", "*", "meta", "argument_specs.yml")):
        with open(path, encoding="utf-8") as handle:
            options = yaml.safe_load(handle)["argument_specs"]["main"]["options"]
        names |= {name for name, option in options.items() if option.get("type") == "bool"}
    return names


def expressions(node, key=None):
    """(is_conditional, text) for every string under node; conditionals are Jinja without braces."""
    if isinstance(node, dict):
        for child_key, child in node.items():
            yield from expressions(child, child_key)
    elif isinstance(node, list):
        for child in node:
            yield from expressions(child, key)
    elif isinstance(node, str):
        if key in CONDITIONAL_KEYS:
            yield node
        yield from JINJA.findall(node)


def unconverted(text, names):
    # `name | default(x) | bool` converts too (site.yml reads a role's switch before the role's defaults load).
    return {name for name in names if re.search(rf"\b{name}\b(?!(\s*\|\s*default\([^)]*\))?\s*\|\s*bool\b)", text)}


def test_unconverted_finds_a_bare_boolean():
    # The check itself can fail: a bare use is found, a converted one is not.
    assert unconverted("not x_enabled and y", {"x_enabled"}) == {"x_enabled"}
    assert unconverted("{{ 'a' if x_enabled else 'b' }}", {"x_enabled"}) == {"x_enabled"}
    assert unconverted("not x_enabled | bool", {"x_enabled"}) == set()
    assert unconverted("x_enabled_more", {"x_enabled"}) == set()
    assert unconverted("x_enabled | default(true) | bool", {"x_enabled"}) == set()
    assert unconverted("x_enabled | default(true)", {"x_enabled"}) == {"x_enabled"}


def test_every_boolean_role_variable_is_read_through_bool():
    names = bool_variables()
    assert "gpu_verify_enabled" in names
    found = set()
    files = glob.glob(os.path.join(ROOT, "roles", "*", "tasks", "*.yml"))
    files += glob.glob(os.path.join(ROOT, "roles", "*", "handlers", "*.yml"))
    files += glob.glob(os.path.join(ROOT, "playbooks", "*.yml"))
    for path in files:
        with open(path, encoding="utf-8") as handle:
            tree = yaml.safe_load(handle)
        relative = os.path.relpath(path, ROOT)
        for text in expressions(tree):
            found |= {(relative, name) for name in unconverted(text, names)}
    assert sorted(found - PENDING) == []
