from setuptools import find_packages, setup

PACKAGE = 'robolearn_camera'

setup(
    name=PACKAGE,
    version='0.1.0',
    packages=find_packages(exclude=['test']),
    data_files=[
        ('share/ament_index/resource_index/packages', ['resource/robolearn_camera']),
        ('share/robolearn_camera', ['package.xml']),
    ],
    install_requires=['setuptools'],
    zip_safe=True,
    maintainer='robolearn maintainers',
    maintainer_email='maintainers@robolearn.org',
    description=("camera_node: OpenCV capture, a video file, colour bars, or the simulator's renderer, published as "
                 "sensor_msgs/Image."),
    license='Apache-2.0',
    entry_points={
        'console_scripts': [
            'camera_node = robolearn_camera.camera_node:main',
        ],
    },
)
