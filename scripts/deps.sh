# Sourced by scripts/demo.sh and scripts/test.sh: installs what the build,
# the demo and the tests need from Debian 12's packages, if anything is
# missing. Uses sudo only when not root.
AESSTREAM_PACKAGES=(
  meson ninja-build pkg-config g++ libssl-dev openssl
  libgstreamer1.0-dev libgtest-dev clang-format
  gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good
  gstreamer1.0-plugins-base-apps
  gstreamer1.0-plugins-bad
  python3 python3-gi python3-gst-1.0 gir1.2-gstreamer-1.0 python3-pycryptodome
  clang libclang-rt-14-dev
)

aesstream_install_deps() {
  local missing=()
  for p in "${AESSTREAM_PACKAGES[@]}" "$@"; do
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q "install ok installed" \
      || missing+=("$p")
  done
  ((${#missing[@]} == 0)) && return 0
  echo "Installing Debian packages: ${missing[*]}"
  local sudo=()
  [[ $(id -u) -eq 0 ]] || sudo=(sudo)
  "${sudo[@]}" apt-get update -q
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q \
    --no-install-recommends "${missing[@]}"
}

# Environment under which GStreamer finds this build's plugin and not
# gst-plugins-bad's elements of the same names: our directory is scanned
# after the system one (the last registration of a name wins), with a
# registry file of our own so a cache built another way cannot interfere.
aesstream_plugin_env() {
  local builddir=$1
  local sysdir
  sysdir=$(pkg-config --variable=pluginsdir gstreamer-1.0)
  export GST_PLUGIN_SYSTEM_PATH_1_0="$sysdir:$builddir/gst"
  export GST_REGISTRY_1_0="$builddir/aesstream-registry.bin"
}

# The usual start of a demo: packages, a build, and the environment above.
aesstream_build_with_env() {
  aesstream_install_deps "$@"
  [[ -d build ]] || meson setup build >/dev/null
  ninja -C build >/dev/null
  aesstream_plugin_env "$PWD/build"
}
