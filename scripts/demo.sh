#!/usr/bin/env bash
# End-to-end demo: builds the plugin, generates a test video, encrypts it
# with aesenc, decrypts it with aesdec, checks that the result is identical
# and playable, and shows that raw CTR output equals `openssl enc`.
# Prints every pipeline it runs so that you can copy them.
# Usage: scripts/demo.sh   (installs its Debian packages if needed)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
aesstream_build_with_env

out=demo-out
rm -rf "$out"
mkdir -p "$out"

step() { printf '\n== %s\n' "$*"; }
run() {
  printf '$ %s\n' "$*"
  "$@"
}

step "Environment: this build's plugin wins over gst-plugins-bad's aesenc"
echo "GST_PLUGIN_SYSTEM_PATH_1_0=$GST_PLUGIN_SYSTEM_PATH_1_0"
echo "GST_REGISTRY_1_0=$GST_REGISTRY_1_0"
gst-inspect-1.0 aesenc | grep -E '^\s+(Filename|Name)\s'

step "A random AES-256 key in a file only we can read"
umask 077
run openssl rand -out "$out/demo.key" -hex 32

step "1. Generate a test video (VP8 in Matroska, 5 s)"
run gst-launch-1.0 -q videotestsrc num-buffers=150 \
  ! video/x-raw,width=640,height=360,framerate=30/1 \
  ! vp8enc deadline=1 ! matroskamux ! filesink location="$out/plain.mkv"

step "2. Encrypt it (AES-256-CTR, random IV in a 48-byte header with the key id)"
run gst-launch-1.0 -q filesrc location="$out/plain.mkv" \
  ! aesenc key-file="$out/demo.key" ! filesink location="$out/video.mkv.aes"

step "3. Decrypt it"
run gst-launch-1.0 -q filesrc location="$out/video.mkv.aes" \
  ! aesdec key-file="$out/demo.key" ! filesink location="$out/decrypted.mkv"

step "4. Verify"
sha256sum "$out/plain.mkv" "$out/decrypted.mkv" "$out/video.mkv.aes"
run cmp "$out/plain.mkv" "$out/decrypted.mkv"
echo "decrypted file is byte-identical to the original"
echo "stream header (magic 'AESs', version 2, mode 1=ctr, key 32 bytes, header 48 bytes, reserved, key id, IV):"
od -A d -t x1 -N 48 "$out/video.mkv.aes"
run build/tools/aesstream-info "$out/video.mkv.aes" "$out/demo.key"

step "5. Play the encrypted file directly: aesdec feeds decodebin"
run gst-launch-1.0 -q filesrc location="$out/video.mkv.aes" \
  ! aesdec key-file="$out/demo.key" ! decodebin ! videoconvert \
  ! fakesink
echo "decoded to the end without error"

step "6. A wrong key is refused, not decrypted into garbage"
openssl rand -out "$out/wrong.key" -hex 32
printf '$ %s\n' "gst-launch-1.0 filesrc location=$out/video.mkv.aes ! aesdec key-file=$out/wrong.key ! fakesink"
msg=$(gst-launch-1.0 -q filesrc location="$out/video.mkv.aes" \
  ! aesdec key-file="$out/wrong.key" ! fakesink 2>&1 || true)
if grep -m1 "Wrong key" <<<"$msg"; then
  echo "(expected: the pipeline fails with this error)"
else
  echo "wrong key was NOT detected: $msg" >&2
  exit 1
fi

step "7. Raw CTR with a fixed IV is byte-identical to openssl enc"
iv=000102030405060708090a0b0c0d0e0f
run gst-launch-1.0 -q filesrc location="$out/plain.mkv" \
  ! aesenc key-file="$out/demo.key" mode=ctr iv=$iv ! filesink location="$out/raw-ctr.bin"
printf '$ %s\n' "openssl enc -aes-256-ctr -K \$(cat $out/demo.key) -iv $iv -in $out/plain.mkv -out $out/raw-ctr.openssl"
openssl enc -aes-256-ctr -K "$(cat "$out/demo.key")" -iv $iv \
  -in "$out/plain.mkv" -out "$out/raw-ctr.openssl"
run cmp "$out/raw-ctr.bin" "$out/raw-ctr.openssl"
echo "identical to openssl enc -aes-256-ctr"

printf '\nDemo OK. Files are in %s/\n' "$out"
