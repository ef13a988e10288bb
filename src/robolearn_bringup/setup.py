from glob import glob

# The launch files and YAML live at the workspace's top level (one place to edit); install them here
# so that `ros2 launch robolearn_bringup <file>` finds them.
from setuptools import find_packages, setup

PACKAGE = 'robolearn_bringup'

setup(
    name=PACKAGE,
    version='0.1.0',
    packages=find_packages(exclude=['test']),
    data_files=[
        ('share/ament_index/resource_index/packages', ['resource/robolearn_bringup']),
        ('share/robolearn_bringup', ['package.xml']),
        ('share/robolearn_bringup/launch', glob('../../launch/*.launch.py')),
        ('share/robolearn_bringup/config', glob('../../config/*.yaml') + glob('../../config/*.rviz')),
    ],
    install_requires=['setuptools'],
    zip_safe=True,
    maintainer='robolearn maintainers',
    maintainer_email='maintainers@robolearn.org',
    description=("Launch files, YAML parameters and the rviz config for robolearn, installed from the workspace's "
                 "top-level launch/ and config/, plus the static launch check and the SO-101 URDF (so101_urdf)."),
    license='Apache-2.0',
    entry_points={
        'console_scripts': [
            'check_launch = robolearn_bringup.launch_check:main',
            'so101_urdf = robolearn_bringup.so101_urdf:main',
        ],
    },
)
