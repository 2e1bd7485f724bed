"""ament_python package dil_ros.

ROS packages (rclpy, *_msgs) come from the system on a ROS machine, or from requirements-ros.txt
via the Makefile elsewhere; they are deliberately not in install_requires.

colcon runs `setup.py install` with setup.cfg's install_scripts, so the console scripts land in
lib/dil_ros for `ros2 run`, with the shebang of the Python that ran colcon (README: build with the
venv's `python -m colcon build`). colcon's shell hooks put <prefix>/bin on PATH only where the
package installs something there: bin/dil-ros is a launcher for lib/dil_ros/dil-ros. pip (the
Makefile) puts the console scripts in the venv's bin itself, so it gets no launcher.
"""
from glob import glob
import os

from setuptools import find_packages, setup

package_name = 'dil_ros'

setup(
    name=package_name,
    version='0.1.0',
    packages=find_packages(exclude=['test', 'test.*']),
    package_data={package_name: ['sim/assets/*.xml', 'sim/assets/*.urdf*']},
    data_files=[
        ('share/ament_index/resource_index/packages', ['resource/' + package_name]),
        ('share/' + package_name, ['package.xml']),
        ('share/' + package_name + '/launch', glob('launch/*launch.py')),
        ('share/' + package_name + '/config', glob('config/*.yaml')),
        ('share/' + package_name + '/config/contracts', glob('config/contracts/*.yaml')),
        ('share/' + package_name + '/urdf', glob('urdf/*')),
    ] + ([('bin', ['bin/dil-ros'])] if 'COLCON' in os.environ else []),
    install_requires=['setuptools', 'numpy', 'pyyaml'],
    extras_require={
        'train': ['torch', 'diffusers', 'pyarrow', 'zarr', 'rosbags', 'tqdm', 'tensorboard',
                  'matplotlib'],
        'sim': ['mujoco'],
        'test': ['pytest'],
    },
    zip_safe=True,
    maintainer='dil_ros maintainers',
    maintainer_email='maintainers@dil-ros.dev',
    description='Diffusion-policy imitation learning for ROS 2.',
    license='Apache-2.0',
    entry_points={
        'console_scripts': [
            'dil-ros = dil_ros.cli.main:main',
            'policy_node = dil_ros.nodes.policy_node:main',
            'recorder_node = dil_ros.nodes.recorder_node:main',
            'teleop_node = dil_ros.nodes.teleop_node:main',
            'sim_node = dil_ros.nodes.sim_node:main',
            'expert_node = dil_ros.nodes.expert_node:main',
            'goal_node = dil_ros.nodes.goal_node:main',
        ],
    },
)
