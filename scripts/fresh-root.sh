#!/usr/bin/env bash
# Runs commands of this checkout inside a freshly made minimal Debian 12 root, the way a new
# user's machine is: `debootstrap --variant=minbase bookworm`, nothing else installed, no other
# folder beside the tree. .ci/run uses it to prove the README's two commands on every landing.
#
# Usage (root):  scripts/fresh-root.sh 'COMMAND' ['COMMAND' ...]
#   Each COMMAND runs in turn with bash, as root, in /src inside the root (a copy of this
#   working tree without build/, build-*/ and demo-run/), with a clean environment (CI=true is
#   passed on if set). The first that fails stops the run with its exit code.
#
# Stages are timed. The bare base root (debootstrap's result, before anything of the project is
# installed) is cached as a tarball in ${FRESH_ROOT_CACHE:-/var/cache/flowdrift-ci}, outside the
# checkout, for up to ${FRESH_ROOT_CACHE_DAYS:-14} days; the project's build dependencies are never
# cached: scripts/install-deps.sh installs them on every run. The mirror is the host's own
# (scripts/debian-mirror.sh; MIRROR overrides it). KEEP_ROOT=1 keeps the root for a look.
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD

say() { echo "fresh-root: $*"; }
fail() { echo "fresh-root: FAIL: $*" >&2; exit 1; }
stage_start=$SECONDS
stage() {  # name: starts timing a stage
  say "$1"
  stage_start=$SECONDS
}
took() { say "  ... took $((SECONDS - stage_start)) s"; }

(($# > 0)) || fail "usage: scripts/fresh-root.sh 'COMMAND' ['COMMAND' ...]"
[[ $(id -u) -eq 0 ]] || fail "needs root (debootstrap, mount, chroot)"

stage "host tools: debootstrap"
if ! command -v debootstrap >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null || fail "apt-get update failed on the host (is its mirror reachable?)"
  apt-get install -y -qq --no-install-recommends debootstrap >/dev/null ||
    fail "could not install debootstrap on the host"
fi
took

mirror=$(scripts/debian-mirror.sh) || fail "no Debian mirror found in the host's apt sources"
# One clear line if the mirror cannot be reached, before anything else fails less clearly.
probe() {
  if command -v curl >/dev/null; then curl -fsS --max-time 30 -o /dev/null "$1"
  elif command -v wget >/dev/null; then wget -q -T 30 -O /dev/null "$1"
  else return 0; fi  # nothing to probe with: debootstrap will say it
}
from="the host's apt sources"
[[ -n ${MIRROR:-} ]] && from="MIRROR in the environment"
probe "$mirror/dists/bookworm/Release" 2>/dev/null ||
  fail "the Debian mirror $mirror (from $from) cannot be reached: no fresh root without it"
say "mirror $mirror"

arch=$(dpkg --print-architecture)
cache_dir=${FRESH_ROOT_CACHE:-/var/cache/flowdrift-ci}
base="$cache_dir/bookworm-minbase-$arch.tar"
stage "base root: debootstrap --variant=minbase bookworm ($base)"
if [[ -f $base ]] && [[ -n $(find "$base" -mtime -"${FRESH_ROOT_CACHE_DAYS:-14}" 2>/dev/null) ]]; then
  say "  reusing the cached base root from $(date -r "$base" '+%F %T')"
else
  mkdir -p "$cache_dir"
  boot=$(mktemp -d /var/tmp/flowdrift-debootstrap.XXXXXX)
  if ! debootstrap --variant=minbase bookworm "$boot" "$mirror" >"$boot.log" 2>&1; then
    tail -20 "$boot.log" >&2
    rm -rf "$boot"
    fail "debootstrap from $mirror failed; its log: $boot.log"
  fi
  rm -f "$boot.log"
  tar -C "$boot" -cf "$base.tmp" . && mv "$base.tmp" "$base"
  rm -rf "$boot"
fi
took

root=$(mktemp -d /var/tmp/flowdrift-root.XXXXXX)
mounts=()
cleanup() {
  local rc=$?
  local i
  for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do
    umount "${mounts[i]}" 2>/dev/null || umount -l "${mounts[i]}" 2>/dev/null || true
  done
  if [[ ${KEEP_ROOT:-0} == 1 ]]; then say "root kept at $root"
  else
    # Never follow a mount that is still there into the host's files.
    if findmnt -rn -o TARGET | grep -q "^$root/"; then say "mounts left under $root; not removing it"
    else rm -rf "$root"; fi
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

stage "unpack the root into $root and copy the checkout to /src"
tar -C "$root" -xf "$base"
chmod 0755 "$root"   # it becomes /: apt's _apt user must be able to enter it
printf 'deb %s bookworm main\ndeb %s bookworm-updates main\n' "$mirror" "$mirror" \
  >"$root/etc/apt/sources.list"
cp /etc/resolv.conf "$root/etc/resolv.conf"
# What the Debian installer writes and debootstrap does not: without it "localhost" does not
# resolve, which no installed Debian machine lacks.
printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' >"$root/etc/hosts"
mkdir -p "$root/src"
tar -C "$src" --exclude=./build --exclude='./build-*' --exclude=./demo-run -cf - . | tar -C "$root/src" -xf -
say "  $(chroot "$root" cat /etc/debian_version), $(chroot "$root" dpkg-query -W -f='${binary:Package}\n' | wc -l) packages"
took

mount_in() {  # type-or-bind source target
  mkdir -p "$root/$3"
  if [[ $1 == bind ]]; then mount --bind "$2" "$root/$3"; else mount -t "$1" "$2" "$root/$3"; fi
  mounts+=("$root/$3")
  # Private: where the host's mounts are shared, a mount made inside the root (dev/shm on the
  # bound /dev) must not appear on the host's own /dev.
  mount --make-private "$root/$3"
}
mount_in proc proc proc
mount_in bind /dev dev
mount_in tmpfs shm dev/shm
mount_in bind /dev/pts dev/pts  # apt opens a pty for its log ("Is /dev/pts mounted?")

n=0
for cmd in "$@"; do
  n=$((n + 1))
  stage "[$n/$#] $cmd"
  env_args=(PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8
            TERM=dumb)
  [[ -n ${CI:-} ]] && env_args+=(CI="$CI")
  set +e
  chroot "$root" /usr/bin/env -i "${env_args[@]}" bash -c "cd /src && $cmd" </dev/null
  rc=$?
  set -e
  took
  ((rc == 0)) || fail "'$cmd' exited $rc in the fresh root"
done
say "OK: $# command(s) passed in a fresh Debian $(cat "$root/etc/debian_version") root"
