#!/usr/bin/env bash
# Debian packages the tests and benchmarks use: exiftool (fixtures, reference reads), chromium
# (browser tests), exiv2 (sidecars read as digiKam and darktable read them) and systemd-analyze
# (unit checks). Installs only what is missing; needs root or sudo.
set -euo pipefail
need=()
command -v exiftool >/dev/null || need+=(libimage-exiftool-perl)
command -v chromium >/dev/null || need+=(chromium)
command -v exiv2 >/dev/null || need+=(exiv2)
command -v systemd-analyze >/dev/null || need+=(systemd)
((${#need[@]})) || exit 0
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "installing Debian packages: ${need[*]}" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
