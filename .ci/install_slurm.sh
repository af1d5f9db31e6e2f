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
start=$(date +%s)
"$(dirname "$0")/apt_install.sh" slurm-wlm munge
echo "install_slurm: installed $(/usr/sbin/slurmd -V) and $(/usr/sbin/munged -V 2>&1 | head -n 1)" \
    "in $(( $(date +%s) - start )) s"
