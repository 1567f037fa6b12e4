#!/usr/bin/env bash
# Installs CRIU 4 for chronicle's checkpoint/restore into a private prefix.
#
# Debian bookworm's criu 3.17 fails on recent kernels ("vdso: Unexpected rt vDSO area
# bounds"). CRIU 4.1.1 from trixie passes `criu check` on kernel 6.18 but hangs in every
# dump (its parasite never traps back: "pie: new_sp=..." is the dump log's last line);
# 4.2.1 from forky (Debian testing) dumps and restores. The newer suite's libc must never
# replace the system's. So this script:
#   1. resolves criu and its whole library closure against that suite with a PRIVATE apt
#      configuration (its own sources file, lists and cache under a temporary dir): the
#      system's /etc/apt and /var/lib/apt are never touched, so nothing can be upgraded
#      from it, not even by a later `apt-get upgrade`;
#   2. downloads those packages (`apt-get download`: signatures and hashes checked by apt)
#      and unpacks them with `dpkg-deb -x` under $PREFIX (default /opt/chronicle/criu);
#   3. writes $PREFIX/bin/criu, a wrapper that runs the binary through the prefix's own
#      loader and libraries (`ld-linux-x86-64.so.2 --library-path ...`);
#   4. installs bookworm's iptables (runc's network lock runs iptables-restore);
#   5. checks that `criu check` through the wrapper says "Looks good.".
# Idempotent: when the prefix holds the same version and the check passes, it returns at
# once. Run as root. Environment: CHRONICLE_CRIU_PREFIX, CHRONICLE_CRIU_SUITE (forky).
set -euo pipefail

PREFIX="${CHRONICLE_CRIU_PREFIX:-/opt/chronicle/criu}"
SUITE="${CHRONICLE_CRIU_SUITE:-forky}"
MIRROR="${CHRONICLE_CRIU_MIRROR:-http://deb.debian.org/debian}"
WRAPPER="$PREFIX/bin/criu"
STAMP="$PREFIX/.installed"

log() { echo "install-criu: $*" >&2; }

if [ "$(id -u)" -ne 0 ]; then
  log "must run as root (it installs iptables and writes $PREFIX)"
  exit 1
fi

check_criu() {
  local out
  out="$("$WRAPPER" check 2>&1)" || { log "criu check failed: $out"; return 1; }
  case "$out" in
    *"Looks good."*) return 0 ;;
    *) log "criu check did not say 'Looks good.': $out"; return 1 ;;
  esac
}

ensure_iptables() {
  if ! dpkg-query -W -f='${Status}' iptables 2>/dev/null | grep -q "install ok installed"; then
    log "installing iptables (bookworm)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iptables >/dev/null
  fi
}

# Serialise concurrent runs (CI steps, tests) on one lock next to the prefix.
mkdir -p "$(dirname "$PREFIX")"
exec 9>"$PREFIX.lock"
flock 9

ensure_iptables

# Fast path: already installed from this suite and working.
if [ -x "$WRAPPER" ] && [ -f "$STAMP" ] && grep -qx "suite=$SUITE" "$STAMP" && check_criu; then
  log "criu $(cat "$PREFIX/.version" 2>/dev/null || echo '?') already installed at $PREFIX"
  exit 0
fi

work="$(mktemp -d /tmp/chronicle-criu.XXXXXX)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$work/parts" "$work/prefs" "$work/debs"
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
echo "deb [signed-by=$keyring] $MIRROR $SUITE main" > "$work/sources.list"
# status=/dev/null: resolve as if nothing were installed, so the closure is complete and
# the prefix depends on no library of the host.
apt_opts=(
  -o "Dir::Etc::SourceList=$work/sources.list"
  -o "Dir::Etc::SourceParts=$work/parts"
  -o "Dir::Etc::Preferences=$work/prefs/none"
  -o "Dir::Etc::PreferencesParts=$work/prefs"
  -o "Dir::State::Lists=$work/lists"
  -o "Dir::State::status=/dev/null"
  -o "Dir::Cache=$work/cache"
  -o "APT::Sandbox::User=root"
)

log "resolving criu from $SUITE (private apt state in $work)"
apt-get "${apt_opts[@]}" update -qq
version="$(apt-cache "${apt_opts[@]}" show criu | sed -n 's/^Version: //p' | head -1)"
case "$version" in
  4.[2-9]* | [5-9].*) ;;
  *) log "criu in $SUITE is '$version', need 4.2 or later"; exit 1 ;;
esac
mapfile -t pkgs < <(apt-cache "${apt_opts[@]}" depends --recurse --no-recommends --no-suggests \
  --no-conflicts --no-breaks --no-replaces --no-enhances criu | grep -v '^ ' | grep -v '^<' | sort -u)
log "downloading criu $version and ${#pkgs[@]} packages: ${pkgs[*]}"
(cd "$work/debs" && apt-get "${apt_opts[@]}" download -qq "${pkgs[@]}")

staging="$PREFIX.new"
rm -rf "$staging"
mkdir -p "$staging"
for deb in "$work"/debs/*.deb; do
  dpkg-deb -x "$deb" "$staging"
done

libdir="$PREFIX/usr/lib/x86_64-linux-gnu"
loader="$libdir/ld-linux-x86-64.so.2"
[ -e "$staging/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2" ] || { log "no loader in the unpacked packages"; exit 1; }
[ -x "$staging/usr/sbin/criu" ] || { log "no usr/sbin/criu in the unpacked packages"; exit 1; }
mkdir -p "$staging/bin"
cat > "$staging/bin/criu" <<EOF
#!/bin/sh
# CRIU $version from Debian $SUITE, run with its own loader and libraries (installed by
# chronicle's scripts/install-criu.sh); the system's libc is left alone.
exec "$loader" --library-path "$libdir" "$PREFIX/usr/sbin/criu" "\$@"
EOF
chmod 0755 "$staging/bin/criu"
echo "$version" > "$staging/.version"
printf 'suite=%s\nversion=%s\n' "$SUITE" "$version" > "$staging/.installed"

# Swap the prefix in whole, so a half-unpacked prefix is never the one in use.
rm -rf "$PREFIX.old"
if [ -e "$PREFIX" ]; then mv "$PREFIX" "$PREFIX.old"; fi
mv "$staging" "$PREFIX"
rm -rf "$PREFIX.old"

check_criu
log "criu $version installed at $PREFIX; wrapper $WRAPPER: $("$WRAPPER" check 2>&1 | grep -o 'Looks good.')"
