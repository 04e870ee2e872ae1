#!/bin/sh
# A second software WebGPU adapter for the tests: Mesa 25's lavapipe (Vulkan)
# from Debian bookworm-backports, unpacked under .cache/lavapipe (nothing is
# installed system-wide). Debian 12's own lavapipe (Mesa 22.3) lacks a feature
# Dawn's Vulkan backend requires, so by default Dawn runs on OpenGL llvmpipe at
# compatibility feature level; this one gives Dawn a Vulkan adapter at *core*
# feature level with shader-f16 and subgroups, so @refs/gpu's float16 and
# core-level paths run for real (packages/gpu/test/vulkan.test.ts).
#
# Prints the path of the ICD file to put in REFS_VK_ICD. Needs root (apt) the
# first time; later runs reuse the unpacked copy. Debian/Ubuntu amd64 only.
set -eu
cd "$(dirname "$0")/.."
dest="$PWD/.cache/lavapipe"
icd="$dest/lvp_icd.json"
if [ -f "$icd" ] && [ -f "$dest/root/usr/lib/x86_64-linux-gnu/libvulkan_lvp.so" ]; then
  echo "$icd"
  exit 0
fi
mkdir -p "$dest/debs" "$dest/apt/lists/partial" "$dest/apt/cache/archives/partial"
echo "deb http://deb.debian.org/debian bookworm-backports main" >"$dest/backports.list"
apt_opts="-o Dir::Etc::sourcelist=$dest/backports.list -o Dir::Etc::sourceparts=- -o Dir::State::Lists=$dest/apt/lists -o Dir::Cache=$dest/apt/cache -o APT::Get::List-Cleanup=0 -o APT::Sandbox::User=root"
# shellcheck disable=SC2086
apt-get $apt_opts update -qq >&2
# lavapipe needs libdrm >= 2.4.121 (bookworm has 2.4.114): take backports' copy too.
# shellcheck disable=SC2086
(cd "$dest/debs" && apt-get $apt_opts download -qq \
  mesa-vulkan-drivers/bookworm-backports libdrm2/bookworm-backports libdrm-amdgpu1/bookworm-backports >&2)
for f in "$dest"/debs/*.deb; do dpkg -x "$f" "$dest/root"; done
lib="$dest/root/usr/lib/x86_64-linux-gnu"
command -v patchelf >/dev/null 2>&1 || apt-get install -y -qq --no-install-recommends patchelf >&2
# Resolve the newer libdrm beside the driver, not the system's.
patchelf --set-rpath '$ORIGIN' "$lib/libvulkan_lvp.so"
cat >"$icd" <<EOF
{ "file_format_version": "1.0.0", "ICD": { "library_path": "$lib/libvulkan_lvp.so", "api_version": "1.4.305" } }
EOF
echo "$icd"
