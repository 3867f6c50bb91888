#!/usr/bin/env bash
# The Debian package, built and used as a user would: cpack writes syncset_<version>_<arch>.deb
# from BUILD_DIR, `apt-get install ./syncset_*.deb` installs it (dependencies from
# dpkg-shlibdeps, the syncset user from the postinst), the installed binary runs and validates
# the installed example config, and `apt-get purge` removes every file it installed.
#
#   tests/package_test.sh BUILD_DIR
#
# Exit 77 (ctest: skipped) when it cannot run here without harm: not root, or a syncset
# package is already installed (purging it would remove the user's).
set -euo pipefail

build_dir=$(readlink -f "${1:?usage: tests/package_test.sh BUILD_DIR}")
fail() {
    echo "package_test: FAILED: $*" >&2
    exit 1
}
skip() {
    echo "package_test: skipped: $*" >&2
    exit 77
}

((EUID == 0)) || skip "installing a package needs root"
if dpkg-query -W -f '${Status}' syncset 2>/dev/null | grep -q 'install ok installed'; then
    skip "a syncset package is installed on this machine already"
fi
command -v dpkg-shlibdeps >/dev/null || fail "dpkg-shlibdeps is missing (package dpkg-dev; scripts/install-deps.sh installs it)"

work=$(mktemp -d "${TMPDIR:-/tmp}/syncset-package.XXXXXXXX")
installed=""
cleanup() {
    if [[ -n $installed ]]; then
        DEBIAN_FRONTEND=noninteractive apt-get purge -y -q syncset >/dev/null 2>&1 || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

echo "package_test: cpack in $work" >&2
(cd "$work" && cpack --config "$build_dir/CPackConfig.cmake" -G DEB -B "$work") >"$work/cpack.log" 2>&1 ||
    {
        tail -n 30 "$work/cpack.log" >&2
        fail "cpack failed"
    }
shopt -s nullglob
debs=("$work"/syncset_*_*.deb)
((${#debs[@]} == 1)) || fail "expected one syncset_<version>_<arch>.deb in $work, found ${#debs[@]}"
deb=${debs[0]}
echo "package_test: built $(basename "$deb")" >&2

# What the package holds and depends on.
contents=$(dpkg-deb -c "$deb")
for path in ./usr/bin/syncset ./lib/systemd/system/syncset.service \
    ./etc/syncset/syncset.example.yaml ./usr/share/doc/syncset/README.md \
    ./usr/share/doc/syncset/copyright; do
    grep -q " $path\$" <<<"$contents" || fail "the package lacks $path"
done
depends=$(dpkg-deb -f "$deb" Depends)
for dep in libpq5 libpqxx adduser; do
    [[ $depends == *"$dep"* ]] || fail "Depends lacks $dep: $depends"
done
unit=$(dpkg-deb --fsys-tarfile "$deb" | tar -xO ./lib/systemd/system/syncset.service)
grep -q '^ExecStart=/usr/bin/syncset run ' <<<"$unit" || fail "the packaged unit does not run /usr/bin/syncset"
grep -v '^#' <<<"$unit" | grep -q '/usr/local' && fail "the packaged unit still names /usr/local"

echo "package_test: apt-get install ./$(basename "$deb")" >&2
installed=yes
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$deb" >"$work/install.log" 2>&1 ||
    {
        tail -n 30 "$work/install.log" >&2
        fail "apt-get install failed"
    }
getent passwd syncset >/dev/null || fail "the postinst did not create the syncset user"
[[ $(getent passwd syncset | cut -d: -f7) == */nologin || $(getent passwd syncset | cut -d: -f7) == */false ]] ||
    fail "the syncset user has a login shell: $(getent passwd syncset)"
version=$(/usr/bin/syncset --version) || fail "/usr/bin/syncset --version failed"
[[ $version == "syncset $(dpkg-deb -f "$deb" Version)" ]] || fail "--version says '$version'"
SOURCE_HOST=db.example BILLING_DSN="host=replica.example dbname=billing" \
    /usr/bin/syncset validate /etc/syncset/syncset.example.yaml ||
    fail "syncset validate /etc/syncset/syncset.example.yaml failed"
# The installed binary refuses bad input as the README says (exit 2, naming the file).
set +e
out=$(/usr/bin/syncset validate /etc/syncset/no-such.yaml 2>&1)
status=$?
set -e
((status == 2)) || fail "validate of a missing file exited $status, not 2: $out"

echo "package_test: apt-get purge syncset" >&2
DEBIAN_FRONTEND=noninteractive apt-get purge -y -q syncset >"$work/purge.log" 2>&1 ||
    {
        tail -n 30 "$work/purge.log" >&2
        fail "apt-get purge failed"
    }
installed=""
for path in /usr/bin/syncset /lib/systemd/system/syncset.service /etc/syncset/syncset.example.yaml \
    /usr/share/doc/syncset; do
    [[ ! -e $path ]] || fail "$path is still there after apt-get purge"
done
dpkg-query -W syncset >/dev/null 2>&1 && fail "dpkg still knows syncset after purge"
echo "package_test: ok" >&2
