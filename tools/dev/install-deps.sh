#!/usr/bin/env bash
# Installs, from Debian 12's packages, everything libscale needs to build, test and benchmark.
# Idempotent and quiet: it calls apt only for what is missing. Run as root (or through sudo).
set -euo pipefail

packages=(
  build-essential cmake
  libfmt-dev libcli11-dev doctest-dev libbenchmark-dev
  libeigen3-dev libboost-dev
  libyaml-cpp-dev nlohmann-json3-dev libcurl4-openssl-dev libssl-dev
  gnuplot-nox
  clang-14 libclang-rt-14-dev
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  exit 0
fi

sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then sudo_cmd=(sudo); fi
echo "install-deps: installing ${missing[*]}" >&2
"${sudo_cmd[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
