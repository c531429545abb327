#!/usr/bin/env bash
# Installs this build system-wide so that every GStreamer process on a
# Debian/Ubuntu machine gets OUR aesenc/aesdec, also with gst-plugins-bad
# installed; and undoes that cleanly. Run as root:
#
#   scripts/system-install.sh install [BUILDDIR]   # default BUILDDIR: build
#   scripts/system-install.sh undo    [BUILDDIR]
#
# Why a diversion: GStreamer keeps one element per name, the plugin added to
# the registry last wins, and which one that is depends on each user's
# registry cache (scan order, what was rescanned after an update): history,
# not configuration. No setting makes one of two same-named elements win.
# So we make sure there is only one: `dpkg-divert` moves gst-plugins-bad's
# libgstaes.so (its aes plugin: only aesenc/aesdec) to a name GStreamer does
# not load (it loads *.so only), and dpkg keeps doing so on every later
# upgrade of gstreamer1.0-plugins-bad. Our aesenc/aesdec are a drop-in for
# theirs (CBC, same properties; docs/migrating.md). Registry caches then
# need no attention: a plugin file that disappeared is dropped from every
# cache, a new one is scanned. See README "Which aesenc do I get?".
set -euo pipefail

action=${1:-}
builddir=${2:-build}
[[ $action == install || $action == undo ]] || {
  sed -n '2,9p' "$0" >&2
  exit 2
}
[[ $(id -u) -eq 0 ]] || { echo "run as root (sudo $0 $*)" >&2; exit 1; }
command -v dpkg-divert >/dev/null || {
  echo "dpkg-divert not found: this route is for Debian/Ubuntu; see README for the others" >&2
  exit 1
}

sysdir=$(pkg-config --variable=pluginsdir gstreamer-1.0)
theirs="$sysdir/libgstaes.so"
diverted="$sysdir/libgstaes.so.aesstream-diverted"

# Which aesenc a fresh process gets (own registry, so no cache is involved).
which_aesenc() {
  local reg
  reg=$(mktemp -d)
  GST_REGISTRY_1_0="$reg/registry.bin" gst-inspect-1.0 aesenc 2>/dev/null \
    | sed -n 's/^ *Filename *//p'
  rm -rf "$reg"
}

remove_registry_caches() {
  # Caches are rebuilt on the next start; removing them is belt and braces
  # (and what to do for users whose $XDG_CACHE_HOME is elsewhere).
  rm -f /root/.cache/gstreamer-1.0/registry.*.bin \
    /home/*/.cache/gstreamer-1.0/registry.*.bin
}

case $action in
  install)
    plugin_dir=$(meson introspect --buildoptions "$builddir" \
      | /usr/bin/python3 -c 'import json,sys; print([o["value"] for o in json.load(sys.stdin) if o["name"]=="plugindir"][0])')
    if [[ -n $plugin_dir && $plugin_dir != "$sysdir" ]]; then
      echo "$builddir is configured with -Dplugindir=$plugin_dir; this route installs into $sysdir" >&2
      exit 1
    fi
    meson install -C "$builddir" --no-rebuild
    dpkg-divert --local --rename --divert "$diverted" --add "$theirs"
    got=$(which_aesenc)
    echo "aesenc is now: $got"
    [[ $got == */libgstaesstream.so ]]
    ;;
  undo)
    if [[ -f $builddir/meson-logs/install-log.txt ]]; then
      ninja -C "$builddir" uninstall
    else
      rm -f "$sysdir/libgstaesstream.so"
    fi
    dpkg-divert --local --rename --remove "$theirs"
    remove_registry_caches
    echo "aesenc is now: $(which_aesenc)"
    ;;
esac
