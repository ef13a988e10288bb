from setuptools import find_packages, setup

PACKAGE = 'robolearn_eval'

setup(
    name=PACKAGE,
    version='0.1.0',
    packages=find_packages(exclude=['test']),
    data_files=[
        ('share/ament_index/resource_index/packages', ['resource/robolearn_eval']),
        ('share/robolearn_eval', ['package.xml']),
    ],
    install_requires=['setuptools'],
    zip_safe=True,
    maintainer='robolearn maintainers',
    maintainer_email='maintainers@robolearn.org',
    description='Closed-loop evaluation in the simulated world through the real node graph (evaluate).',
    license='Apache-2.0',
    entry_points={
        'console_scripts': [
            'evaluate = robolearn_eval.evaluate:main',
            'demo = robolearn_eval.demo:main',
        ],
    },
)
