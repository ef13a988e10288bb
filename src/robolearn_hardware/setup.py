from setuptools import find_packages, setup

PACKAGE = 'robolearn_hardware'

setup(
    name=PACKAGE,
    version='0.1.0',
    packages=find_packages(exclude=['test']),
    data_files=[
        ('share/ament_index/resource_index/packages', ['resource/robolearn_hardware']),
        ('share/robolearn_hardware', ['package.xml']),
    ],
    install_requires=['setuptools'],
    zip_safe=True,
    maintainer='robolearn maintainers',
    maintainer_email='maintainers@robolearn.org',
    description='so100_driver node for the SO-100/SO-101 follower and leader arms on a Feetech STS3215 bus.',
    license='Apache-2.0',
    entry_points={
        'console_scripts': [
            'so100_driver = robolearn_hardware.so100_driver:main',
            'calibrate = robolearn_hardware.calibrate:main',
            'sim_bus = robolearn_hardware.sim_bus_main:main',
        ],
    },
)
