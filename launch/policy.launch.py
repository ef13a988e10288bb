"""Deployment: policy_node turns observations into action chunks, executor_node plays them at 50 Hz on the
follower. With sim:=true (the default) the arm and cameras are the simulated world's (no expert, no teleop).

    ros2 launch robolearn_bringup policy.launch.py checkpoint:=runs/act/checkpoints/best
    ros2 launch robolearn_bringup policy.launch.py policy:=flow checkpoint:=DIR aggregation:=rtc threshold:=0.5
    ros2 launch robolearn_bringup policy.launch.py sim:=false checkpoint:=DIR follower_port:=/dev/ttyACM0
    ros2 service call /world_node/reset std_srvs/srv/Trigger            (sim: the next seed's episode)
    ros2 service call /executor_node/reset std_srvs/srv/Trigger         (a new episode: ramp from where the arm is)
    ros2 service call /policy_node/reset std_srvs/srv/Trigger           (a new episode: empty observation history)
    ros2 service call /executor_node/emergency_stop std_srvs/srv/Trigger

Arguments (the defaults of the node parameters are those of config/policy.yaml):
    sim                    true: simulated world (sim.launch.py, expert:=false teleop:=false, seed); false: the
                           follower driver (so100.launch.py leader:=false) and the cameras (camera.launch.py)
    checkpoint             policy checkpoint directory (fit: <output>/checkpoints/best); required. Several of one
                           recipe, comma-separated (DIR1,DIR2,...): their chunks averaged (ACT, mlp; flow and
                           diffusion with inference_noise:=zero)
    policy                 act, diffusion, flow or mlp: the kind the checkpoint must hold ('' accepts any)
    inference_noise        flow, diffusion: where sampling starts, fresh, episode or zero ('' as the checkpoint says)
    device                 auto, cpu, cuda, cuda:1 (policy_node)
    aggregation            replace, temporal_ensemble, blend, rtc (executor_node; rtc for flow and diffusion)
    threshold              g: ask for the next chunk when remaining / horizon < g (executor_node)
    run_policy             false: start no policy_node here (it runs on another machine, see below)
    seed                   sim: the first episode's seed (default 5000: evaluation seeds)
    follower_port, follower_calibration     real arm only (so100.launch.py)
    description            true (default): robot_state_publisher with the SO-101 URDF, TF from /follower/joint_states
                           (description.launch.py); false where it is not installed

chunk_path draws every chunk as the gripper's path (/policy/chunk_path, nav_msgs/Path in base_link) for rviz:
`rviz2 -d $(ros2 pkg prefix robolearn_bringup)/share/robolearn_bringup/config/robolearn.rviz`.

The policy node on another machine (a GPU box): both machines on the same ROS_DOMAIN_ID, discovery between
them allowed (ROS_AUTOMATIC_DISCOVERY_RANGE=SUBNET, not LOCALHOST), clocks synchronised (chrony/NTP: chunk
stamps are compared with the executor's clock; a chunk stamped more than 50 ms in the future is refused).
On the arm's machine: `policy.launch.py run_policy:=false ...`; on the GPU box: `ros2 run robolearn_policy
policy_node --ros-args --params-file config/policy.yaml -p checkpoint:=DIR -p calibration_file:=FILE
-p device:=cuda -p dtype:=bfloat16 -p cuda_graph:=true` (the follower's calibration file copied there).
"""

import yaml
from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, IncludeLaunchDescription
from launch.conditions import IfCondition, UnlessCondition
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch.substitutions import AndSubstitution, LaunchConfiguration, NotSubstitution, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.parameter_descriptions import ParameterValue
from launch_ros.substitutions import FindPackageShare

from robolearn_bringup.sim_ready import start_when_buses_ready
from robolearn_sim.graph_paths import calibration_file


def generate_launch_description() -> LaunchDescription:
    share = FindPackageShare('robolearn_bringup')
    params = PathJoinSubstitution([share, 'config', 'policy.yaml'])
    # the launch arguments' defaults are the YAML's values: config/ stays the single source of parameters
    yaml_path = f'{get_package_share_directory("robolearn_bringup")}/config/policy.yaml'
    config = yaml.safe_load(open(yaml_path))
    policy_defaults, executor_defaults = config['policy_node']['ros__parameters'], config['executor_node']['ros__parameters']
    sim = LaunchConfiguration('sim')

    def include(name: str, condition, **arguments) -> IncludeLaunchDescription:
        return IncludeLaunchDescription(PythonLaunchDescriptionSource(PathJoinSubstitution([share, 'launch', name])),
                                        launch_arguments=arguments.items(), condition=condition)

    def nodes(calibration, condition) -> list[Node]:
        # value_type: launch_ros reads a bare substitution as YAML (a checkpoint path '1' would be an int)
        policy = Node(
            package='robolearn_policy', executable='policy_node', name='policy_node', output='screen',
            parameters=[params, {'checkpoint': ParameterValue(LaunchConfiguration('checkpoint'), value_type=str),
                                 'policy': ParameterValue(LaunchConfiguration('policy'), value_type=str),
                                 'device': ParameterValue(LaunchConfiguration('device'), value_type=str),
                                 'inference_noise': ParameterValue(LaunchConfiguration('inference_noise'), value_type=str),
                                 'calibration_file': ParameterValue(calibration, value_type=str)}],
            condition=IfCondition(AndSubstitution(condition, LaunchConfiguration('run_policy'))))
        executor = Node(
            package='robolearn_executor', executable='executor_node', name='executor_node', output='screen',
            parameters=[params, {'aggregation': ParameterValue(LaunchConfiguration('aggregation'), value_type=str),
                                 'threshold': ParameterValue(LaunchConfiguration('threshold'), value_type=float),
                                 'calibration_file': ParameterValue(calibration, value_type=str)}],
            condition=IfCondition(condition))
        return [policy, executor]

    return LaunchDescription([
        DeclareLaunchArgument('sim', default_value='true', description='simulated world instead of the real arm'),
        DeclareLaunchArgument('checkpoint', description='policy checkpoint directory (fit: <output>/checkpoints/best); '
                              'several of one recipe, comma-separated: their chunks averaged (ACT, mlp; flow and '
                              'diffusion with inference_noise:=zero)'),
        DeclareLaunchArgument('policy', default_value=policy_defaults['policy'],
                              description="act, diffusion, flow or mlp: the kind the checkpoint must hold; '' any"),
        DeclareLaunchArgument('device', default_value=policy_defaults['device'], description='policy_node torch device'),
        DeclareLaunchArgument('inference_noise', default_value=policy_defaults['inference_noise'],
                              description="flow, diffusion: fresh, episode or zero; '' as the checkpoint says"),
        DeclareLaunchArgument('aggregation', default_value=executor_defaults['aggregation'],
                              description='replace, temporal_ensemble, blend or rtc'),
        DeclareLaunchArgument('threshold', default_value=str(executor_defaults['threshold']),
                              description='g: request the next chunk when remaining / horizon < g'),
        DeclareLaunchArgument('run_policy', default_value='true', description='false: the policy node runs elsewhere'),
        DeclareLaunchArgument('seed', default_value='5000', description='sim: first episode seed (evaluation 5000..9999)'),
        DeclareLaunchArgument('follower_port', default_value='/dev/ttyACM0', description='real arm: serial device'),
        DeclareLaunchArgument('follower_calibration', default_value=executor_defaults['calibration_file'],
                              description='real arm: calibration JSON (radians <-> LeRobot units, joint limits)'),
        DeclareLaunchArgument('description', default_value='true',
                              description='robot_state_publisher: the URDF and TF of the follower (description.launch.py)'),
        # sim.launch.py includes description.launch.py; the real arm's graph includes it here
        include('sim.launch.py', IfCondition(sim), seed=LaunchConfiguration('seed'), expert='false', teleop='false'),
        # sim: the world writes the follower calibration when its buses are ready; the nodes read it at start
        start_when_buses_ready(nodes(calibration_file('follower'), sim), condition=IfCondition(sim)),
        include('so100.launch.py', UnlessCondition(sim), leader='false', follower_port=LaunchConfiguration('follower_port'),
                follower_calibration=LaunchConfiguration('follower_calibration')),
        include('camera.launch.py', UnlessCondition(sim)),
        include('description.launch.py', UnlessCondition(sim)),
        *nodes(LaunchConfiguration('follower_calibration'), NotSubstitution(sim)),
        Node(package='robolearn_policy', executable='chunk_path', name='chunk_path', parameters=[params], output='screen'),
    ])
