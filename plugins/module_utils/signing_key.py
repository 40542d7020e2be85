# Copyright: gpuhost contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""An apt repository's signing key put in place as a keyring holding only the pinned key.

The one implementation behind M(gpuhost.provision.apt_signing_key) and the key options of
M(gpuhost.provision.apt_source_update) (a role's key and source in one module run).
"""

from __future__ import annotations

import time
from urllib.parse import unquote, urlsplit

from ansible.module_utils.urls import fetch_url
from ansible_collections.gpuhost.provision.plugins.module_utils.files import write_atomic
from ansible_collections.gpuhost.provision.plugins.module_utils.openpgp import (
    OpenPGPError,
    normalize_fingerprint,
    primary_fingerprints,
    select_key,
)


def read_keyring(path):
    try:
        with open(path, "rb") as handle:
            data = handle.read()
        return data, primary_fingerprints(data)
    except (OSError, OpenPGPError):
        return None, []


def _fetch_error(info):
    """Why one try failed. fetch_url's msg reads "OK (n bytes)" on responses that are not 200: never show it."""
    status, msg = info.get("status"), info.get("msg") or ""
    if msg and not msg.startswith("OK"):
        return msg
    return f"HTTP status {status}"


def download(module, url, *, retries, delay, timeout):
    parts = urlsplit(url)
    if parts.scheme == "file":
        # fetch_url answers file:// with status None, so it is read here: a path on the managed host.
        path = unquote(parts.path)
        try:
            with open(path, "rb") as handle:
                return handle.read()
        except OSError as exc:
            module.fail_json(msg=f"could not read the apt signing key {path} (from {url}): {exc.strerror}", url=url)
    error = ""
    for attempt in range(retries + 1):
        if attempt:
            time.sleep(delay)
        response, info = fetch_url(module, url, timeout=timeout)
        if info["status"] == 200 and response is not None:
            return response.read()
        error = _fetch_error(info)
    module.fail_json(
        msg=f"could not download the apt signing key from {url} after {retries + 1} tries: {error}", url=url
    )


def put_keyring(module, url, fingerprint, dest, *, force=False, retries=3, delay=3, timeout=30):
    """Make dest hold the pinned key alone; written unless in check mode. Returns {changed, fingerprints, diff}.

    Where dest holds the pinned key already nothing is downloaded (a converged host needs no network), but
    any other key beside it is dropped: apt trusts every key in a signed-by keyring.
    """
    try:
        wanted = normalize_fingerprint(fingerprint)
    except OpenPGPError as exc:
        module.fail_json(msg=f"fingerprint: {exc}")
    current, current_fprs = read_keyring(dest)
    if wanted in current_fprs and not force:
        keyring = select_key(current, wanted)
    else:
        data = download(module, url, retries=retries, delay=delay, timeout=timeout)
        try:
            found = primary_fingerprints(data)
        except OpenPGPError as exc:
            module.fail_json(msg=f"the file at {url} is not an OpenPGP public key: {exc}", url=url)
        if wanted not in found:
            module.fail_json(
                msg=(
                    f"the key at {url} has fingerprint {', '.join(found)}, expected {wanted}: refusing to "
                    "trust it. If the repository rotated its key, check the new fingerprint with its "
                    "publisher and update the pinned value."
                ),
                url=url,
                found=found,
                expected=wanted,
            )
        keyring = select_key(data, wanted)
    changed = keyring != current
    if changed and not module.check_mode:
        write_atomic(module, dest, keyring)
    return {
        "changed": changed,
        "fingerprints": [wanted],
        "diff": {
            "before": "\n".join(current_fprs) + "\n",
            "after": wanted + "\n",
            "before_header": dest,
            "after_header": dest,
        },
    }
