#!/usr/bin/env bash
# Here, once: the ROS 2 Jazzy runtime (rclpy, Fast DDS, the message packages policy_node uses) as CPython 3.12
# wheels in .whl-ros312/ (44 MB; git-ignored through .git/info/exclude), for the GPU machine, whose Python 3.12
# has no ROS. Versions: bench/device/ros312-wheels.txt, the same as requirements/pip-env.lock pins for 3.11.
#   bash bench/device/ros_wheels.sh
# There, bench/device/ros_site.sh installs them (--prefix: the wheels keep rclpy and the libraries in
# <prefix>/lib and <prefix>/share, which --target drops).
set -euo pipefail
plats=(); for n in 17 24 27 28 31 34 35 39; do plats+=(--platform "manylinux_2_${n}_x86_64"); done
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp "${plats[@]}" \
  --platform manylinux2014_x86_64 -d .whl-ros312 -r bench/device/ros312-wheels.txt
grep -qx '/.whl-ros312/' .git/info/exclude || echo '/.whl-ros312/' >> .git/info/exclude
du -sh .whl-ros312
