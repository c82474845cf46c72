#!/usr/bin/env bash
# Proves the .deb on a clean Debian 12: debootstraps a minimal bookworm root, installs the
# package there with apt (so its declared dependencies must be enough), and checks that
#   - flowdriftd and flowdriftctl run, and `flowdriftd --check-config` judges the shipped config
#     (78: it names example sites whose password file does not exist yet) and, once the
#     passwords are there, accepts it (0);
#   - /etc/flowdrift/flowdrift.yaml is a conffile and an upgrade keeps an operator's change;
#   - the unit is installed; nothing is enabled; purge removes the package's files;
#   - lintian finds no error or warning, and man flowdriftd (and the others) open;
#   - an unprivileged user reads `flowdriftctl status --server` from a flowdriftd with TLS and
#     basic auth.
# Not part of CTest: it needs root, debootstrap and a Debian mirror, and takes minutes.
#
# Usage (root):  scripts/check-deb.sh [path/to/flowdrift_<version>_amd64.deb]
#   Without an argument the package is built first: build-deb/ (RelWithDebInfo, tests off,
#   -DCMAKE_INSTALL_PREFIX=/usr), then cpack.
# Environment: MIRROR (default: the host's own, scripts/debian-mirror.sh), KEEP_ROOT=1 keeps the root.
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD

say() { echo "check-deb: $*"; }
fail() { echo "check-deb: FAIL: $*" >&2; exit 1; }

[[ $(id -u) -eq 0 ]] || fail "needs root (debootstrap, chroot)"
command -v debootstrap >/dev/null || fail "debootstrap missing: apt-get install -y debootstrap"
command -v lintian >/dev/null || fail "lintian missing: apt-get install -y lintian"
mirror=$(scripts/debian-mirror.sh) || fail "no Debian mirror in the host's apt sources (set MIRROR)"

deb=${1:-}
if [[ -z $deb ]]; then
  say "building the package in build-deb/"
  cmake -S "$src" -B "$src/build-deb" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFLOWDRIFT_BUILD_TESTS=OFF \
        -DCMAKE_INSTALL_PREFIX=/usr ${CMAKE_CXX_COMPILER_LAUNCHER:+-DCMAKE_CXX_COMPILER_LAUNCHER=$CMAKE_CXX_COMPILER_LAUNCHER} >/dev/null
  cmake --build "$src/build-deb" -j"$(nproc)"
  (cd "$src/build-deb" && cpack -G DEB >/dev/null)
  deb=$(ls -t "$src"/build-deb/flowdrift_*.deb | head -1)
fi
[[ -f $deb ]] || fail "$deb: no such package"
deb=$(realpath "$deb")
version=$(dpkg-deb -f "$deb" Version)
say "package $deb (version $version)"
say "declared Depends: $(dpkg-deb -f "$deb" Depends)"

# Debian's own checks: no error and no warning; the package's overrides
# (systemd/debian/lintian-overrides) say why each remaining tag does not apply.
lintian_out=$(lintian --fail-on error,warning --display-info --show-overrides "$deb" 2>&1) ||
  fail "lintian:"$'\n'"$lintian_out"
say "lintian: no error or warning${lintian_out:+:}"
[[ -z $lintian_out ]] || sed 's/^/  /' <<<"$lintian_out"

root=$(mktemp -d /var/tmp/flowdrift-root.XXXXXX)
chmod 0755 "$root"   # it becomes /: apt's _apt user must be able to enter it
daemon=
cleanup() {
  [[ -z $daemon ]] || kill "$daemon" 2>/dev/null || true
  umount "$root/proc" 2>/dev/null || true
  if [[ ${KEEP_ROOT:-0} == 1 ]]; then say "root kept at $root"; else rm -rf "$root"; fi
}
trap cleanup EXIT

say "debootstrap --variant=minbase bookworm $root $mirror"
start=$SECONDS
debootstrap --variant=minbase bookworm "$root" "$mirror" >"$root.debootstrap.log" 2>&1 ||
  { tail -20 "$root.debootstrap.log" >&2; fail "debootstrap failed (network or mirror?); log: $root.debootstrap.log"; }
rm -f "$root.debootstrap.log"
say "clean root ready in $((SECONDS - start))s: $(chroot "$root" cat /etc/debian_version)," \
    "$(chroot "$root" dpkg-query -W -f='${binary:Package}\n' | wc -l) packages"
mount -t proc proc "$root/proc"
cp /etc/resolv.conf "$root/etc/resolv.conf"
in_root() { chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive "$@"; }

cp "$deb" "$root/tmp/flowdrift.deb"
in_root apt-get update -qq
say "apt-get install /tmp/flowdrift.deb (dependencies from $mirror)"
in_root apt-get install -y -q --no-install-recommends /tmp/flowdrift.deb >"$root/tmp/install.log" 2>&1 ||
  { cat "$root/tmp/install.log" >&2; fail "apt-get install failed"; }
grep -E '^(Setting up|flowdrift:)' "$root/tmp/install.log" | sed 's/^/  /'
[[ $(in_root dpkg-query -W -f='${Status}' flowdrift) == "install ok installed" ]] || fail "flowdrift not installed"

say "$(in_root flowdriftd --version) / $(in_root flowdriftctl --version)"

# The man pages open with man-db, as a new user would read them.
in_root apt-get install -y -q --no-install-recommends man-db >"$root/tmp/man.log" 2>&1 ||
  { cat "$root/tmp/man.log" >&2; fail "apt-get install man-db failed"; }
for page in flowdriftd flowdriftctl flowdrift.yaml; do
  in_root env MANWIDTH=80 man -P cat "$page" 2>/dev/null | grep -q "^NAME" || fail "man $page does not open"
done
say "man flowdriftd, man flowdriftctl and man flowdrift.yaml open"

# The alert rules pointed at a local runbook copy, with the installed script and rules file.
in_root /usr/share/flowdrift/render-rules.sh --runbook-base https://wiki.example.net/flowdrift/runbooks.html \
  >"$root/tmp/rules.yml" || fail "render-rules.sh failed in the clean root"
grep -q "runbook_url: 'https://wiki.example.net/flowdrift/runbooks.html#flowdrifttargetdown'" "$root/tmp/rules.yml" ||
  fail "render-rules.sh did not move the runbook links"
say "/usr/share/flowdrift/render-rules.sh moves the rules' runbook links"

# As shipped, the config names example sites whose password file is not there: exit 78, with the
# site and the path named. Then with both passwords provided it must pass.
set +e
out=$(in_root flowdriftd --check-config --config /etc/flowdrift/flowdrift.yaml 2>&1)
rc=$?
set -e
echo "$out" | sed 's/^/  /'
((rc == 78)) || fail "--check-config on the shipped config exited $rc, expected 78"
grep -q "secrets/primary.password" <<<"$out" || fail "the error does not name the missing password file"
mkdir -p "$root/etc/flowdrift/secrets"
echo "example-password" >"$root/etc/flowdrift/secrets/primary.password"
chmod 0400 "$root/etc/flowdrift/secrets/primary.password"
set +e
out=$(in_root FLOWDRIFT_DR_PASSWORD=example-password flowdriftd --check-config --config /etc/flowdrift/flowdrift.yaml 2>&1)
rc=$?
set -e
echo "$out" | sed 's/^/  /'
((rc == 0)) || fail "--check-config with the passwords in place exited $rc"
say "flowdriftd --check-config runs in the clean root: 78 as shipped (password file missing), 0 once provided"

# Audits without root: flowdriftd serves its API over TLS with basic auth, and an unprivileged
# user reads the status with flowdriftctl --server, a CA file and a password file.
web=$root/tmp/web
mkdir -p "$web"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=127.0.0.1 \
  -addext subjectAltName=IP:127.0.0.1 -keyout "$web/key.pem" -out "$web/cert.pem" 2>/dev/null ||
  fail "openssl could not make the test certificate"
hash=$(python3 -W ignore::DeprecationWarning -c "import crypt; print(crypt.crypt('audit-pw-1', crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=1 << 5)))")
printf 'tls_server_config:\n  cert_file: cert.pem\n  key_file: key.pem\nbasic_auth_users:\n  auditor: %s\n' \
  "$hash" >"$web/web.yml"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# The state directory as systemd's StateDirectory= makes it: root's alone.
install -d -m 0700 "$root/var/lib/flowdrift"
# chroot execs env, which execs flowdriftd: $! is the daemon itself.
chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin FLOWDRIFT_DR_PASSWORD=example-password \
  flowdriftd --config /etc/flowdrift/flowdrift.yaml --web.listen-address "127.0.0.1:$port" \
  --web.config.file /tmp/web/web.yml >"$root/tmp/daemon.log" 2>&1 &
daemon=$!
in_root useradd --create-home auditor
printf 'auditor:audit-pw-1\n' >"$root/home/auditor/auth"
in_root chown auditor: /home/auditor/auth
in_root chmod 0600 /home/auditor/auth
audit() {
  in_root runuser -u auditor -- flowdriftctl status --server "https://127.0.0.1:$port" \
    --ca-file /tmp/web/cert.pem --auth-file /home/auditor/auth "$@"
}
for _ in $(seq 50); do audit >/dev/null 2>&1 && break; sleep 0.2; done
status_out=$(audit 2>&1) || { cat "$root/tmp/daemon.log" >&2; fail "flowdriftctl status --server as auditor: $status_out"; }
sed 's/^/  /' <<<"$status_out"
grep -q '^PAIR ' <<<"$status_out" && grep -q '^SITE ' <<<"$status_out" ||
  fail "flowdriftctl status --server printed no status tables"
audit -o json | grep -q '"schema": "flowdrift.status/v1"' || fail "status --server -o json names no schema"
# explain --server reaches the daemon too: the example sites are never polled here, so its answer
# is its own 404 naming the site without a complete poll, passed on with exit 2.
explain_out=$(in_root runuser -u auditor -- flowdriftctl explain prod web --server "https://127.0.0.1:$port" \
  --ca-file /tmp/web/cert.pem --auth-file /home/auditor/auth 2>&1) && fail "explain --server: $explain_out"
grep -q 'HTTP 404' <<<"$explain_out" && grep -q 'has no complete poll' <<<"$explain_out" ||
  fail "explain --server did not pass on the daemon's answer: $explain_out"
! in_root runuser -u auditor -- flowdriftctl status --db /var/lib/flowdrift/flowdrift.db >/dev/null 2>&1 ||
  fail "the auditor could read the database file itself"
kill "$daemon"
wait "$daemon" || true
daemon=
say "an unprivileged user reads flowdriftctl status (and explain) --server over TLS with basic auth from a file"

# Layout.
for f in /usr/bin/flowdriftd /usr/bin/flowdriftctl /usr/lib/systemd/system/flowdriftd.service \
         /etc/default/flowdrift /usr/share/doc/flowdrift/examples/systemd/tls-credentials.conf \
         /usr/share/bash-completion/completions/flowdriftctl /usr/share/zsh/vendor-completions/_flowdrift \
         /usr/share/flowdrift/queries/01-which-policies-site-site-had-at-time-t.sql \
         /usr/share/doc/flowdrift/changelog.gz \
         /usr/share/doc/flowdrift/install.md /usr/share/doc/flowdrift/examples/prometheus/flowdrift-rules.yml \
         /usr/share/doc/flowdrift/copyright; do
  [[ -e $root$f ]] || fail "$f missing after install"
done
head -1 "$root/usr/share/doc/flowdrift/copyright" |
  grep -qx 'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/' ||
  fail "/usr/share/doc/flowdrift/copyright is not in Debian's machine-readable format"
for conffile in /etc/flowdrift/flowdrift.yaml /etc/default/flowdrift; do
  in_root dpkg-query -W -f='${Conffiles}\n' flowdrift | grep -q " *$conffile " || fail "$conffile is not a conffile"
done
grep -qx 'EnvironmentFile=-/etc/default/flowdrift' "$root/usr/lib/systemd/system/flowdriftd.service" ||
  fail "the installed unit does not read /etc/default/flowdrift"
[[ ! -e $root/etc/systemd/system/multi-user.target.wants/flowdriftd.service ]] || fail "the service was enabled"
say "layout ok (copyright in DEP-5); /etc/flowdrift/flowdrift.yaml and /etc/default/flowdrift are conffiles; the service is not enabled"

# Upgrade to a newer version of the same package: the operator's change to the config stays, with
# no prompt (stdin is /dev/null, so a prompt would fail the upgrade).
echo "# changed by the operator" >>"$root/etc/flowdrift/flowdrift.yaml"
work=$(mktemp -d)
dpkg-deb -R "$deb" "$work/pkg"
sed -i "s/^Version: .*/Version: ${version}+upgradecheck1/" "$work/pkg/DEBIAN/control"
dpkg-deb -b --root-owner-group "$work/pkg" "$root/tmp/flowdrift-next.deb" >/dev/null
rm -rf "$work"
in_root apt-get install -y -q --no-install-recommends /tmp/flowdrift-next.deb </dev/null >"$root/tmp/upgrade.log" 2>&1 ||
  { cat "$root/tmp/upgrade.log" >&2; fail "upgrade failed"; }
grep -E '^(Unpacking|Setting up|flowdrift:)' "$root/tmp/upgrade.log" | sed 's/^/  /'
[[ $(in_root dpkg-query -W -f='${Version}' flowdrift) == "${version}+upgradecheck1" ]] || fail "upgrade did not happen"
tail -1 "$root/etc/flowdrift/flowdrift.yaml" | grep -q "changed by the operator" || fail "the upgrade replaced the changed config"
[[ ! -e $root/etc/flowdrift/flowdrift.yaml.dpkg-new ]] || fail "the upgrade left flowdrift.yaml.dpkg-new"
say "upgrade to ${version}+upgradecheck1 kept the changed /etc/flowdrift/flowdrift.yaml"

# Purge: the package's files go (the secrets directory is the operator's and stays).
in_root apt-get purge -y -q flowdrift >"$root/tmp/purge.log" 2>&1 || { cat "$root/tmp/purge.log" >&2; fail "purge failed"; }
for f in /usr/bin/flowdriftd /usr/lib/systemd/system/flowdriftd.service /etc/flowdrift/flowdrift.yaml \
         /etc/default/flowdrift; do
  [[ ! -e $root$f ]] || fail "$f still there after purge"
done
say "purge removed binaries, unit and config"
say "OK: $(basename "$deb") installs on a clean Debian $(chroot "$root" cat /etc/debian_version) root"
