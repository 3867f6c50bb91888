#!/usr/bin/env bash
# Installs what building and testing syncset needs on Debian 12. Idempotent: asks dpkg
# first and only touches apt when something is missing, so it is silent and fast on a
# machine that already has everything (tests/run.sh calls it on every run).
set -euo pipefail

packages=(
    g++ cmake make pkg-config
    libpqxx-dev libpq-dev libyaml-cpp-dev libspdlog-dev libcli11-dev libxxhash-dev libgtest-dev
    libcpp-httplib-dev
    postgresql-15 postgresql-client-15
    dpkg-dev file systemd
)
# The container stack test (docker/test.sh) only: Debian's engine, compose 1.29 and
# debootstrap for base images without a registry.
if [[ ${SYNCSET_TEST_DOCKER:-} == 1 ]]; then
    packages+=(docker.io docker-compose debootstrap)
fi

missing=()
for pkg in "${packages[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null || true)
    [[ $status == ii* ]] || missing+=("$pkg")
done

if ((${#missing[@]} == 0)); then
    exit 0
fi

sudo=()
if ((EUID != 0)); then
    if ! command -v sudo >/dev/null 2>&1; then
        echo "install-deps: missing packages: ${missing[*]}; not root and no sudo to install them" >&2
        exit 1
    fi
    sudo=(sudo)
fi

echo "install-deps: installing ${missing[*]}" >&2
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -q --no-install-recommends "${missing[@]}"
