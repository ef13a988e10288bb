# Shared by scripts/setup, scripts/build and scripts/env.sh: where things are.
# shellcheck shell=bash

fail() {
  echo "robolearn setup error: $*" >&2
  exit 1
}

robolearn_venv() {
  echo "${ROBOLEARN_VENV:-$ROOT/.venv}"
}

# The setup.bash of a ROS 2 install, or nothing (pip environment). ROS_DISTRO picks among several.
robolearn_ros_setup() {
  if [[ "${ROBOLEARN_NO_ROS:-0}" == 1 ]]; then return; fi
  local d
  if [[ -n "${ROS_DISTRO:-}" && -f "/opt/ros/$ROS_DISTRO/setup.bash" ]]; then
    echo "/opt/ros/$ROS_DISTRO/setup.bash"
    return
  fi
  for d in jazzy kilted humble rolling; do
    if [[ -f "/opt/ros/$d/setup.bash" ]]; then
      echo "/opt/ros/$d/setup.bash"
      return
    fi
  done
}
