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


def remove_matching(config: dict, matches: dict) -> dict:
    """Drop top-level keys whose current value equals the one given (e.g. our own default-runtime)."""
    return {key: value for key, value in config.items() if not (key in matches and matches[key] == value)}


def render(config: dict) -> str:
    """Text written to disk: key order kept (the user's keys stay where they were), two-space indent."""
    return json.dumps(config, indent=2) + "\n"
