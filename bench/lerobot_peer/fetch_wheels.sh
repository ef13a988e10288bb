#!/usr/bin/env bash
# The packages lerobot 0.6.1 needs on the GPU machine (Python 3.12, torch 2.11, torchvision 0.26, no internet)
# beyond what its image already has (KINDS.md's list: pyarrow, pandas, opencv, huggingface-hub, einops,
# safetensors, accelerate, xxhash, aiohttp, pyyaml, typing-inspect, cloudpickle ... are there), downloaded here
# into .whl-lerobot/ (git-ignored through .git/info/exclude) for the device tool's `carry`.
#
# The list is what `import lerobot` + LeRobot's dataset, ACT, processors, optimizer and training step
# import (checked in a Python 3.12 venv with lerobot 0.6.1 by listing sys.modules), minus the image's packages.
# PyAV's wheel is 38 MiB (FFmpeg with every codec, protocol and device library, and Cython modules with debug
# info): it travels as av-15.1.0-slim-site.tar.xz, 9.9 MiB, the unpacked wheel with the encoder/network/device
# libraries replaced by stubs (slim_av.py says how and why) and the Cython modules stripped; AV1 and H.264
# decode to the same bytes as with the full wheel (checked with LeRobot's and robolearn's decoders). It also
# serves robolearn's DatasetReader (pinned av 18.1.0, same frames). Total ~13 MiB, which leaves the 50-episode
# dataset (37 MiB) and the tree room in the 64 MiB a call may carry. Needs gcc, readelf and strip here.
#
# On the GPU machine (first thing in the command):
#   python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl-lerobot/*.whl \
#     && tar xJf .whl-lerobot/av-15.1.0-slim-site.tar.xz -C /tmp/site && export PYTHONPATH=/tmp/site || exit
#
# lerobot 0.6.1 declares numpy<2.3, Pillow<13, opencv<4.14, packaging<26, torch<2.12; the image's newer numpy
# (2.5) and others are used as they are (--no-deps): bench/lerobot_act.py was run that way (see its README).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
cd "$(git -C "$HERE" rev-parse --show-toplevel)"
DEST=.whl-lerobot
grep -qxF "/$DEST/" .git/info/exclude 2>/dev/null || echo "/$DEST/" >> .git/info/exclude
mkdir -p "$DEST"
PY=${PYTHON:-python3}
download() {
  "$PY" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 --platform manylinux1_x86_64 -d "$DEST" "$@"
}
download lerobot==0.6.1 datasets==4.8.5 dill==0.4.1 multiprocess==0.70.19 draccus==0.11.6 mergedeep==1.3.4 \
  toml==0.10.2 gymnasium==1.4.0 farama-notifications==0.0.4 termcolor==3.3.0
# LeRobot's diffusion policy (the lerobot[diffusion] extra) needs diffusers
download diffusers==0.38.0 regex==2025.11.3 importlib_metadata==8.7.0 zipp==3.23.0
AV_TAR="$DEST/av-15.1.0-slim-site.tar.xz"
if [ ! -s "$AV_TAR" ]; then
  TMP=$(mktemp -d)
  trap 'rm -rf "$TMP"' EXIT
  download av==15.1.0 -d "$TMP"   # the later -d wins: the wheel lands in $TMP, not in $DEST
  mkdir "$TMP/site"
  (cd "$TMP/site" && "$PY" -m zipfile -e "$TMP"/av-15.1.0-*.whl .)
  "$PY" "$HERE/slim_av.py" "$TMP/site"
  find "$TMP/site/av" -name '*.so' -exec strip --strip-unneeded {} +   # debug info: 33 -> 5 MiB
  tar -C "$TMP/site" -cf - . | nice xz -9 -T1 > "$AV_TAR.tmp"
  mv "$AV_TAR.tmp" "$AV_TAR"
fi
rm -f "$DEST"/av-*.whl "$DEST"/av-15.1.0-site.tar.xz
ls -la "$DEST"
du -sh "$DEST"
