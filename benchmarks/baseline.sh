#!/usr/bin/env bash
# Baseline for benchmarks/converge.py: the apt and file work site.yml does on a sandbox host, typed out
# by hand the way the seeds do it (one apt-get update after all sources are in place).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
. /etc/os-release

cat > /etc/apt/sources.list.d/nonfree.sources <<SRC
Types: deb
URIs: http://deb.debian.org/debian
Suites: ${VERSION_CODENAME} ${VERSION_CODENAME}-updates
Components: contrib non-free non-free-firmware
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
install -d -m 0755 /etc/apt/keyrings
python3 -c 'import urllib.request,sys; sys.stdout.buffer.write(urllib.request.urlopen(sys.argv[1]).read())' \
  http://127.0.0.1:8080/nvidia/amd64/gpg > /etc/apt/keyrings/nvidia-container-toolkit.asc
cat > /etc/apt/sources.list.d/nvidia-container-toolkit.sources <<SRC
Types: deb
URIs: http://127.0.0.1:8080/nvidia/amd64
Suites: /
Signed-By: /etc/apt/keyrings/nvidia-container-toolkit.asc
SRC
apt-get update -qq
apt-get install -y -qq --no-install-recommends nvidia-driver nvidia-smi >/dev/null
apt-mark hold nvidia-driver nvidia-smi >/dev/null
printf 'blacklist nouveau\noptions nouveau modeset=0\n' > /etc/modprobe.d/blacklist-nouveau.conf
apt-get install -y -qq docker.io nvidia-container-toolkit >/dev/null
mkdir -p /etc/docker
cat > /etc/docker/daemon.json <<'JSON'
{"log-driver": "json-file", "log-opts": {"max-size": "100m", "max-file": "3"},
 "runtimes": {"nvidia": {"path": "nvidia-container-runtime", "args": []}}}
JSON
systemctl restart docker
systemctl is-active docker >/dev/null
