from setuptools import find_packages, setup

PACKAGE = 'robolearn_executor'

setup(
    name=PACKAGE,
    version='0.1.0',
    packages=find_packages(exclude=['test']),
    data_files=[
        ('share/ament_index/resource_index/packages', ['resource/robolearn_executor']),
        ('share/robolearn_executor', ['package.xml']),
    ],
    install_requires=['setuptools'],
    zip_safe=True,
    maintainer='robolearn maintainers',
    maintainer_email='maintainers@robolearn.org',
    description=('executor_node: plays action chunks at 50 Hz with a queue, request threshold, temporal ensembling '
                 'and safety limits.'),
    license='Apache-2.0',
    entry_points={
        'console_scripts': [
            'executor_node = robolearn_executor.executor_node:main',
        ],
    },
)
