# Sourced on the GPU machine by scripts that run ROS nodes: installs the carried .whl-ros312 (bench/device/ros_wheels.sh)
# into /tmp/ros once per machine and sets what the wheels need: their Python packages, the ament index (share/),
# and their bundled libraries, whose RPATHs point elsewhere (the pip environment's ros_wheels_bootstrapper sets
# LD_LIBRARY_PATH the same way, through a .pth file that PYTHONPATH folders do not run).
export PYTHONUNBUFFERED=1
if [ ! -d /tmp/ros/lib ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --ignore-installed --prefix /tmp/ros \
    .whl-ros312/*.whl || { echo 'ros_site: installing .whl-ros312 failed'; exit 1; }
fi
_sp=$(ls -d /tmp/ros/lib/python3*/site-packages /tmp/ros/local/lib/python3*/dist-packages 2>/dev/null | head -1)
export PYTHONPATH=$_sp:$PWD/src/robolearn_core:$PWD/src/robolearn_ros:$PWD/src/robolearn_policy${PYTHONPATH:+:$PYTHONPATH}
export AMENT_PREFIX_PATH=/tmp/ros LD_LIBRARY_PATH=/tmp/ros/lib$(for d in "$_sp"/ros_*.libs; do printf ':%s' "$d"; done)${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export RMW_IMPLEMENTATION=rmw_fastrtps_cpp _ROS_WHEELS_BOOTSTRAP_COMPLETE=1 ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST
unset _sp
