#!/usr/bin/env bash
# Install Debian's SLURM (slurmctld, slurmd, client tools) and munge for the one-node test
# cluster of tests/slurm_cluster.py. Idempotent: when every binary is already there it only
# says so and exits at once. Needs root (or passwordless sudo) and apt (Debian/Ubuntu).
# It installs only: no daemon is started (the tests start and stop their own).
set -euo pipefail

needed=(slurmctld slurmd sbatch srun squeue sinfo scontrol scancel munged munge unmunge mungekey)
missing=()
for bin in "${needed[@]}"; do
    # The daemons live in /usr/sbin, which a non-root PATH may lack.
    if ! command -v "$bin" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$bin" ]; then
        missing+=("$bin")
    fi
done

if [ "${#missing[@]}" -eq 0 ]; then
    echo "install_slurm: already installed ($(/usr/sbin/slurmd -V)); nothing to do"
    exit 0
fi

echo "install_slurm: missing ${missing[*]}; installing slurm-wlm and munge with apt-get"
# Lock::Timeout: wait for another apt/dpkg (a parallel job, unattended upgrades) instead of
# failing at once on its lock. `env` because sudo drops DEBIAN_FRONTEND.
apt=(env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600)
if [ "$(id -u)" -ne 0 ]; then
    apt=(sudo "${apt[@]}")
fi
start=$(date +%s)
"${apt[@]}" update -qq
"${apt[@]}" install -y -qq --no-install-recommends slurm-wlm munge >/dev/null
echo "install_slurm: installed $(/usr/sbin/slurmd -V) and $(/usr/sbin/munged -V 2>&1 | head -n 1)" \
    "in $(( $(date +%s) - start )) s"
