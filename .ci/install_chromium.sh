#!/usr/bin/env bash
# Install Debian's chromium for the browser test of the report page (tests/test_report_browser.py).
# Idempotent: when chromium is already there it only says so. Needs root (or passwordless sudo) and apt.
set -euo pipefail

if command -v chromium >/dev/null 2>&1; then
    echo "install_chromium: already installed ($(chromium --version 2>/dev/null | tail -n 1)); nothing to do"
    exit 0
fi
echo "install_chromium: missing; installing chromium with apt-get"
apt=(env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600)
if [ "$(id -u)" -ne 0 ]; then
    apt=(sudo "${apt[@]}")
fi
start=$(date +%s)
"${apt[@]}" update -qq
"${apt[@]}" install -y -qq --no-install-recommends chromium >/dev/null
echo "install_chromium: installed $(chromium --version 2>/dev/null | tail -n 1) in $(( $(date +%s) - start )) s"
