#!/usr/bin/env bash
# Install Debian's Chromium for the browser test when it is missing (Playwright drives it;
# Playwright's own browser download is not used).
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "Chromium is not installed and apt-get is unavailable: install Chromium and put it on PATH" >&2
  echo "(or set SEQ2SEQ_CHROMIUM to its path); the browser test will be skipped otherwise." >&2
  exit 0
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
chromium --version
