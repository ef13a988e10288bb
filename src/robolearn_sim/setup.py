from setuptools import find_packages, setup

PACKAGE = 'robolearn_sim'

setup(
    name=PACKAGE,
    version='0.1.0',
    packages=find_packages(exclude=['test']),
    data_files=[
        ('share/ament_index/resource_index/packages', ['resource/robolearn_sim']),
        ('share/robolearn_sim', ['package.xml']),
    ],
    install_requires=['setuptools'],
    zip_safe=True,
    maintainer='robolearn maintainers',
    maintainer_email='maintainers@robolearn.org',
    description=('The simulated world: MuJoCo SO-100/101 scene, simulated Feetech buses on pseudo-terminals, '
                 'simulated cameras, scripted expert and task success.'),
    license='Apache-2.0',
    entry_points={
        'console_scripts': [
            'world_node = robolearn_sim.world_node:main',
        ],
    },
)
