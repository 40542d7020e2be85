# Copyright: gpuhost contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure functions behind the docker_daemon_json module: parse, merge and render /etc/docker/daemon.json.

Kept free of Ansible imports so pytest calls them directly.
"""

from __future__ import annotations

import copy
import json


class DaemonJsonError(ValueError):
    """The file holds something Docker would refuse; the message names the file and the reason."""


def parse(text: str, path: str = "daemon.json") -> dict:
    """Parse daemon.json text. An empty or whitespace-only file counts as {} (dockerd reads it so)."""
    if not text.strip():
        return {}
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DaemonJsonError(
            f"{path} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); "
            "fix or remove it by hand, it was left unchanged"
        ) from exc
    if not isinstance(data, dict):
        raise DaemonJsonError(f"{path} must hold a JSON object, found {type(data).__name__}; it was left unchanged")
    return data


def merge(current: dict, settings: dict) -> dict:
    """Merge settings into current without losing what current holds.

    Objects merge key by key, recursively; a scalar from settings wins over the current one; lists are
    unioned, current items first and in their order, so a user's registry mirrors or runtime args survive.
    """
    result = copy.deepcopy(current)
    for key, value in settings.items():
        old = result.get(key)
        if isinstance(old, dict) and isinstance(value, dict):
            result[key] = merge(old, value)
        elif isinstance(old, list) and isinstance(value, list):
            result[key] = old + [item for item in value if item not in old]
        else:
            result[key] = copy.deepcopy(value)
    return result


def merge_replacing(current: dict, settings: dict, replace: list | tuple = ()) -> dict:
    """merge(), except that the top-level keys named in replace take the value from settings whole.

    Lists only grow under merge(): a mirror dropped from settings would stay in the file forever. Naming the
    key here (e.g. "registry-mirrors") makes settings the whole truth for it.
    """
    result = merge(current, {key: value for key, value in settings.items() if key not in replace})
    for key in replace:
        if key in settings:
            result[key] = copy.deepcopy(settings[key])
    return result


def fill_defaults(current: dict, defaults: dict) -> dict:
    """Write defaults only where current has no value of its own: a user's own values win, key by key.

    Objects are filled in recursively (a hand-set log-opts.max-size stays, a missing max-file is added);
    lists and scalars already present are kept as they are. A log driver's options belong to that driver:
    with a log-driver in current other than the one defaults name, the defaults' log-opts are not added,
    because dockerd refuses to start on an option its driver does not know ("unknown log opt 'max-size'
    for journald log driver", moby/moby#12087).
    """
    result = copy.deepcopy(current)
    for key, value in defaults.items():
        if key == "log-opts" and "log-driver" in current and current["log-driver"] != defaults.get("log-driver"):
            continue
        if key not in result:
            result[key] = copy.deepcopy(value)
        elif isinstance(result[key], dict) and isinstance(value, dict):
            result[key] = fill_defaults(result[key], value)
    return result


def remove_matching(config: dict, matches: dict) -> dict:
    """Drop top-level keys whose current value equals the one given (e.g. our own default-runtime)."""
    return {key: value for key, value in config.items() if not (key in matches and matches[key] == value)}


def apply(
    current: dict, settings: dict, defaults: dict, replace: list | tuple = (), matches: dict | None = None
) -> dict:
    """What the docker_daemon_json module writes: settings merged, defaults filled in, matching keys dropped."""
    return remove_matching(fill_defaults(merge_replacing(current, settings, replace), defaults), matches or {})


def would_change(current: dict, config: dict, exists: bool) -> bool:
    """The file would be written: its keys differ, or there is none yet and the config is not empty."""
    return config != current or (not exists and bool(config))


def render(config: dict) -> str:
    """Text written to disk: key order kept (the user's keys stay where they were), two-space indent."""
    return json.dumps(config, indent=2) + "\n"
