# Source this to enter the workspace environment (after scripts/setup and scripts/build):
#   source scripts/env.sh
# It activates the venv, sources ROS (if installed) and the colcon workspace, and puts every package's
# executables (install/<pkg>/lib/<pkg>/) on PATH, so `fit --help` here is `ros2 run robolearn_train fit --help`.
# shellcheck shell=bash
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/lib.sh"
_ros_setup="$(robolearn_ros_setup)"
_u=$-; set +u
if [[ -n "$_ros_setup" ]]; then source "$_ros_setup"; fi
source "$(robolearn_venv)/bin/activate"
# The pip wheels' ament index lives in the venv prefix; without it get_package_share_directory fails.
export AMENT_PREFIX_PATH="$VIRTUAL_ENV${AMENT_PREFIX_PATH:+:$AMENT_PREFIX_PATH}"
if [[ -f "$ROOT/install/setup.bash" ]]; then
  COLCON_CURRENT_PREFIX="$ROOT/install" source "$ROOT/install/setup.bash"
fi
for _d in "$ROOT"/install/*/lib/robolearn_*; do
  [[ -d "$_d" ]] && PATH="$_d:$PATH"
done
export PATH ROBOLEARN_ROOT="$ROOT"
export MUJOCO_GL="${MUJOCO_GL:-egl}"
[[ $_u == *u* ]] && set -u
unset _d _u _ros_setup
