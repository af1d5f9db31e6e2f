#!/usr/bin/env bash
# Install Debian's chromium for the browser test of the report page (tests/test_report_browser.py).
# Idempotent: when chromium is already there it only says so. Needs root (or passwordless sudo) and apt.
set -euo pipefail

if command -v chromium >/dev/null 2>&1; then
    echo "install_chromium: already installed ($(chromium --version 2>/dev/null | tail -n 1)); nothing to do"
    exit 0
fi
echo "install_chromium: missing; installing chromium with apt-get"
start=$(date +%s)
"$(dirname "$0")/apt_install.sh" chromium
echo "install_chromium: installed $(chromium --version 2>/dev/null | tail -n 1) in $(( $(date +%s) - start )) s"
