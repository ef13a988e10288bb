from setuptools import find_packages, setup

PACKAGE = 'robolearn_policy'

setup(
    name=PACKAGE,
    version='0.1.0',
    packages=find_packages(exclude=['test']),
    data_files=[
        ('share/ament_index/resource_index/packages', ['resource/robolearn_policy']),
        ('share/robolearn_policy', ['package.xml']),
    ],
    install_requires=['setuptools'],
    zip_safe=True,
    maintainer='robolearn maintainers',
    maintainer_email='maintainers@robolearn.org',
    description=('policy_node: observations -> action chunks (trajectory_msgs/JointTrajectory); chunk_path: a chunk '
                 "as the gripper's path (nav_msgs/Path) for rviz."),
    license='Apache-2.0',
    entry_points={
        'console_scripts': [
            'policy_node = robolearn_policy.policy_node:main',
            'chunk_path = robolearn_policy.chunk_path:main',
        ],
    },
)
