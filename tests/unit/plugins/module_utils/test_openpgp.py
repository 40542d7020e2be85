import os

import pytest
from ansible_collections.gpuhost.provision.plugins.module_utils.openpgp import (
    OpenPGPError,
    dearmor,
    normalize_fingerprint,
    primary_fingerprints,
    select_key,
)

KEYS = os.path.join(os.path.dirname(__file__), "..", "..", "..", "fixtures", "apt_mirror", "keys")
# As printed by `gpg --show-keys --with-colons` for the throwaway test keys.
MIRROR = "176FEBB7358A19ECAB18DF864365F319D00FE84D"
WRONG = "41F9F0598577A1A972AAE6D8D190C7F8B5FAAD9D"


def read(name):
    with open(os.path.join(KEYS, name), "rb") as handle:
        return handle.read()


def test_fingerprint_of_armored_keys_matches_gpg():
    assert primary_fingerprints(read("mirror.pub.asc")) == [MIRROR]
    assert primary_fingerprints(read("wrong.pub.asc")) == [WRONG]


def test_binary_keyring_gives_the_same_fingerprint():
    binary = dearmor(read("mirror.pub.asc"))
    assert binary[0] & 0x80
    assert primary_fingerprints(binary) == [MIRROR]


def test_a_keyring_with_two_keys_lists_both():
    both = dearmor(read("mirror.pub.asc")) + dearmor(read("wrong.pub.asc"))
    assert primary_fingerprints(both) == [MIRROR, WRONG]


@pytest.mark.parametrize(
    "text",
    ["9DC8 5822 9FC7 DD38 854A  E2D8 8D81 803C 0EBF CD88", "0x9dc858229fc7dd38854ae2d88d81803c0ebfcd88"],
)
def test_fingerprint_spellings_normalize(text):
    assert normalize_fingerprint(text) == "9DC858229FC7DD38854AE2D88D81803C0EBFCD88"


@pytest.mark.parametrize("text", ["9DC8", "not a fingerprint", "9DC858229FC7DD38854AE2D88D81803C0EBFCDZZ"])
def test_bad_fingerprints_are_refused(text):
    with pytest.raises(OpenPGPError):
        normalize_fingerprint(text)


@pytest.mark.parametrize(
    "data",
    [b"<html>404 Not Found</html>", b"-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n!!!\n-----END PGP PUBLIC KEY BLOCK-----"],
)
def test_non_keys_are_refused(data):
    with pytest.raises(OpenPGPError):
        primary_fingerprints(data)


def test_truncated_key_is_refused():
    with pytest.raises(OpenPGPError):
        primary_fingerprints(dearmor(read("mirror.pub.asc"))[:20])


def test_select_key_keeps_only_the_pinned_key_of_two():
    both = dearmor(read("mirror.pub.asc")) + dearmor(read("wrong.pub.asc"))
    only = select_key(both, MIRROR)
    assert primary_fingerprints(only) == [MIRROR]
    # The pinned key's own packets (user IDs, subkeys, signatures) survive byte for byte.
    assert only == dearmor(read("mirror.pub.asc"))
    assert primary_fingerprints(select_key(both, WRONG)) == [WRONG]


def test_select_key_sees_a_key_in_a_second_armor_block():
    # Two PUBLIC KEY BLOCKs in one file: the second must not hide from the pin (nor ride along with it).
    armored = read("wrong.pub.asc") + b"\n" + read("mirror.pub.asc")
    assert primary_fingerprints(armored) == [WRONG, MIRROR]
    assert select_key(armored, MIRROR) == dearmor(read("mirror.pub.asc"))


def test_select_key_refuses_a_keyring_without_the_pin():
    with pytest.raises(OpenPGPError, match=WRONG):
        select_key(read("wrong.pub.asc"), MIRROR)
