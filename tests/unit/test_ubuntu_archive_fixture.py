"""The stand-in Ubuntu archive specs are generated, current, and shaped the way ubuntu-drivers reads them."""

import os
import subprocess
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GENERATOR = os.path.join(ROOT, "tests", "fixtures", "ubuntu_archive", "generate.py")


def test_mirror_specs_are_up_to_date():
    result = subprocess.run([sys.executable, GENERATOR, "--check"], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


def test_noble_archive_has_each_branch_with_modaliases_and_modules_for_generic_and_azure():
    with open(os.path.join(ROOT, "molecule", "driver_ubuntu_noble", "mirror.yml"), encoding="utf-8") as handle:
        packages = {p["name"]: p for p in yaml.safe_load(handle)["repos"][0]["packages"]}
    for flavour in ("580-server", "580-server-open", "570-server", "535-server"):
        driver = packages[f"nvidia-driver-{flavour}"]
        assert "pci:v000010DEd000020B5sv*sd*bc03sc*i*" in driver["fields"]["Modaliases"]  # A100 PCIe 80GB
        for name in (
            f"nvidia-headless-no-dkms-{flavour}",
            f"nvidia-utils-{flavour}",
            f"libnvidia-compute-{flavour}",
            f"nvidia-dkms-{flavour}",
            f"linux-modules-nvidia-{flavour}-generic",
            f"linux-modules-nvidia-{flavour}-azure",
        ):
            assert name in packages, name
        assert "nvidia-utils" not in packages[f"nvidia-headless-no-dkms-{flavour}"]["depends"]
    # Volta only with the proprietary modules; no prebuilt module for the lowlatency kernel (the DKMS case).
    assert "d00001DB4" not in packages["nvidia-driver-580-server-open"]["fields"]["Modaliases"]
    assert "d00001DB4" in packages["nvidia-driver-580-server"]["fields"]["Modaliases"]
    assert not [n for n in packages if n.startswith("linux-modules-nvidia-") and "lowlatency" in n]
    assert "nvidia-fabricmanager-580" in packages


def test_ubuntu_drivers_package_is_canonicals_code(tmp_path):
    out = subprocess.run(
        [
            sys.executable,
            os.path.join(ROOT, "tests", "fixtures", "ubuntu_drivers", "build.py"),
            "--release",
            "noble",
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    listing = subprocess.run(["dpkg-deb", "-c", out], capture_output=True, text=True, check=True).stdout
    assert "./usr/bin/ubuntu-drivers" in listing
    assert "./usr/lib/python3/dist-packages/UbuntuDrivers/detect.py" in listing
    fields = subprocess.run(["dpkg-deb", "-f", out, "Version", "Depends"], capture_output=True, text=True, check=True)
    assert "Version: 1:0.9.7.6ubuntu3.3" in fields.stdout and "python3-apt" in fields.stdout
