# Copyright: gpuhost contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Whether a CUDA image may run on a driver, judged from the image's own config as NVIDIA's runtime judges it.

The rules follow NVIDIA Container Toolkit v1.20.0, internal/config/image/cuda_image.go (GetRequirements) and
internal/requirements/constraints/factory.go: every NVIDIA_REQUIRE_* variable (but NVIDIA_REQUIRE_JETPACK) is
one requirement and all must hold; inside one, space-separated terms are alternatives and comma-separated
factors must all hold; `cuda`, `driver` and `arch` compare as versions, `brand` as a string; a factor on
another property is skipped. An image with CUDA_VERSION but no NVIDIA_REQUIRE_CUDA asks for cuda>=major.minor,
and NVIDIA_DISABLE_REQUIRE turns every check off.
"""

from __future__ import annotations

import re

_OPERATORS = ("!=", "<=", ">=", "=", "<", ">")
_VERSION_PROPERTIES = ("cuda", "driver", "arch")


class RequirementError(ValueError):
    pass


def image_env(env_list):
    """`docker image inspect`'s Config.Env (a list of NAME=value) as a dict."""
    return dict(item.split("=", 1) if "=" in item else (item, "") for item in env_list or [])


def requirements(env):
    if env.get("NVIDIA_DISABLE_REQUIRE", "").strip().lower() in ("1", "true", "yes", "on"):
        return []
    found = [
        value
        for name, value in sorted(env.items())
        if name.startswith("NVIDIA_REQUIRE_") and not name.startswith("NVIDIA_REQUIRE_JETPACK")
    ]
    if "NVIDIA_REQUIRE_CUDA" not in env and env.get("CUDA_VERSION"):
        match = re.match(r"^(\d+)\.(\d+)", env["CUDA_VERSION"])
        if not match:
            raise RequirementError(f"CUDA_VERSION {env['CUDA_VERSION']!r} is not a version")
        found.append(f"cuda>={match.group(1)}.{match.group(2)}")
    return [r for r in found if r.strip()]


def _version(text):
    parts = re.findall(r"\d+", text)
    if not parts:
        raise RequirementError(f"{text!r} is not a version")
    return tuple(int(p) for p in parts)


def _compare(left, op, right):
    if left is None:
        return False
    return {
        "=": left == right,
        "!=": left != right,
        "<": left < right,
        "<=": left <= right,
        ">": left > right,
        ">=": left >= right,
    }[op]


def _factor(factor, properties):
    """True/False for one `name<op>value`, None where NVIDIA's runtime would skip it."""
    end = next((i for i, ch in enumerate(factor) if ch in "<>=!"), -1)
    if end <= 0:
        raise RequirementError(f"invalid constraint {factor!r}")
    name, rest = factor[:end], factor[end:]
    if name not in properties:
        return None
    op = next((o for o in _OPERATORS if rest.startswith(o)), None)
    if op is None:
        raise RequirementError(f"invalid operator in {factor!r}")
    value = rest[len(op) :]
    have = properties[name]
    if name in _VERSION_PROPERTIES:
        # Compared as semantic versions, missing parts as 0 (golang.org/x/mod/semver, as NVIDIA does).
        want = _version(value)
        if have is None:
            return False
        got = _version(have)
        width = max(len(got), len(want))
        return _compare(got + (0,) * (width - len(got)), op, want + (0,) * (width - len(want)))
    return _compare(None if have is None else have.lower(), op, value.lower())


def _holds(requirement, properties):
    terms = []
    for term in requirement.split(" "):
        results = [r for r in (_factor(f, properties) for f in term.split(",") if f.strip()) if r is not None]
        if results:
            terms.append(all(results))
    # A requirement whose every factor was skipped asks nothing.
    return any(terms) if terms else True


def check(env_list, driver_version, cuda_version, brand=None, arch=None):
    """(ok, unmet requirements) for an image's Config.Env on a host with these properties."""
    properties = {"cuda": cuda_version, "driver": driver_version, "brand": brand, "arch": arch}
    wanted = requirements(image_env(env_list))
    unmet = [r for r in wanted if not _holds(r, properties)]
    return not unmet, unmet
