from setuptools import find_packages, setup

PACKAGE = 'robolearn_teleop'

setup(
    name=PACKAGE,
    version='0.1.0',
    packages=find_packages(exclude=['test']),
    data_files=[
        ('share/ament_index/resource_index/packages', ['resource/robolearn_teleop']),
        ('share/robolearn_teleop', ['package.xml']),
    ],
    install_requires=['setuptools'],
    zip_safe=True,
    maintainer='robolearn maintainers',
    maintainer_email='maintainers@robolearn.org',
    description='teleop_node (leader -> follower) and recorder_node (ROS topics -> LeRobot v3.0 dataset).',
    license='Apache-2.0',
    entry_points={
        'console_scripts': [
            'teleop_node = robolearn_teleop.teleop_node:main',
            'recorder_node = robolearn_teleop.recorder_node:main',
        ],
    },
)
