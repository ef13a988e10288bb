"""The simulated graph's paths are written once (graph_paths); config/sim.yaml, read by the launch files, agrees."""

from pathlib import Path

import yaml

from robolearn_sim.graph_paths import ROLES, bus_port, calibration_file, domain_folder, graph_parameters

REPO = Path(__file__).resolve().parents[3]


def test_sim_yaml_names_the_default_paths():
    sim = yaml.safe_load((REPO / 'config' / 'sim.yaml').read_text())
    defaults = graph_parameters(Path(bus_port('follower')).parent)
    for node, params in defaults.items():
        assert {k: sim[node]['ros__parameters'][k] for k in params} == params, node


def test_a_domain_has_its_own_folder():
    a, b = graph_parameters(domain_folder('7')), graph_parameters(domain_folder('8'))
    for role in ROLES:
        assert a[f'so100_{role}']['port'] != b[f'so100_{role}']['port']
        assert a['world_node'][f'{role}_calibration'] == a[f'so100_{role}']['calibration_file']
    assert calibration_file('leader', domain_folder('7')).endswith('robolearn_sim/7/leader.json')
