from setuptools import find_packages, setup

PACKAGE = 'robolearn_core'

setup(
    name=PACKAGE,
    version='0.1.0',
    packages=find_packages(exclude=['test']),
    data_files=[
        ('share/ament_index/resource_index/packages', ['resource/robolearn_core']),
        ('share/robolearn_core', ['package.xml']),
    ],
    install_requires=['setuptools'],
    zip_safe=True,
    maintainer='robolearn maintainers',
    maintainer_email='maintainers@robolearn.org',
    description=('Plain-Python core of robolearn: Feetech protocol and bus, calibration and units, the simulated bus, '
                 'the LeRobot v3 dataset reader/writer, policies, action-queue math, safety filter and trainer. No ROS imports.'),
    license='Apache-2.0',
    entry_points={
        'console_scripts': [],
    },
)
