#!/usr/bin/env bash
# Install Debian packages with apt-get, for the CI installers (install_slurm.sh, install_chromium.sh).
# Lock::Timeout: wait for another apt/dpkg (a parallel job, unattended upgrades) instead of failing at
# once on its lock. `env` because sudo drops DEBIAN_FRONTEND. Needs root or passwordless sudo.
set -euo pipefail

apt=(env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600)
if [ "$(id -u)" -ne 0 ]; then
    apt=(sudo "${apt[@]}")
fi
"${apt[@]}" update -qq
"${apt[@]}" install -y -qq --no-install-recommends "$@" >/dev/null
