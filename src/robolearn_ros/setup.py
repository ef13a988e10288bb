from setuptools import find_packages, setup

PACKAGE = 'robolearn_ros'

setup(
    name=PACKAGE,
    version='0.1.0',
    packages=find_packages(exclude=['test']),
    data_files=[
        ('share/ament_index/resource_index/packages', ['resource/robolearn_ros']),
        ('share/robolearn_ros', ['package.xml']),
    ],
    install_requires=['setuptools'],
    zip_safe=True,
    maintainer='robolearn maintainers',
    maintainer_email='maintainers@robolearn.org',
    description='The ROS side every robolearn node shares: main() and clean Ctrl-C, parameters, /diagnostics, '
                'numpy <-> sensor_msgs/Image, and starting node processes as a launch file does.',
    license='Apache-2.0',
    entry_points={
        'console_scripts': [
        ],
    },
)
