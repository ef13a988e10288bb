from setuptools import find_packages, setup

PACKAGE = 'robolearn_train'

setup(
    name=PACKAGE,
    version='0.1.0',
    packages=find_packages(exclude=['test']),
    data_files=[
        ('share/ament_index/resource_index/packages', ['resource/robolearn_train']),
        ('share/robolearn_train', ['package.xml']),
    ],
    install_requires=['setuptools'],
    zip_safe=True,
    maintainer='robolearn maintainers',
    maintainer_email='maintainers@robolearn.org',
    description='Offline work on datasets and policies: fit (training) and the dataset tools (validate, info, plot, from-bag).',
    license='Apache-2.0',
    entry_points={
        'console_scripts': [
            'fit = robolearn_train.fit:main',
            'dataset = robolearn_train.dataset_cli:main',
        ],
    },
)
