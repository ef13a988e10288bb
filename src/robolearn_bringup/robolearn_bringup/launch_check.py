"""Static check of the launch files, without the `launch` package (the pip environment has none).

For every ``Node(package=..., executable=..., name=..., parameters=[...])`` in ``launch/*.launch.py``:

- ``executable`` is a console script of ``package`` (read from the installed package's entry points);
- every parameter file it names exists in ``config/``;
- every key under ``ros__parameters`` of the YAML sections that apply to the node (its name, or ``/**``)
  is a parameter that the node class declares, with a value of the declared type: the node class is
  instantiated with rclpy, with the YAML values as overrides, and its declared parameters are read back;
- every YAML section configures some node of the launch files, so a renamed node cannot leave its
  parameters silently unused;
- every key of an inline ``parameters`` dict is a declared parameter, and a value computed at launch time
  (``LaunchConfiguration``, ``PythonExpression``, ...) is wrapped in ``ParameterValue(..., value_type=T)``
  with ``T`` the declared type: launch_ros reads a bare substitution as YAML, so ``task:=1`` would reach
  a string parameter as an int (and ``task:="a: b"`` as a dict) and the node would die at start.

Only the nodes of robolearn's packages (``robolearn_*``) are checked; the others (robot_state_publisher,
rviz2) are listed as not checked: the pip environment has not got them, and their parameters are theirs.

Node classes must be cheap to construct (declare parameters, create interfaces; no hardware or file I/O
in ``__init__``) and accept ``**kwargs`` for ``rclpy.node.Node``.

    check_launch [--launch-dir DIR] [--config-dir DIR]     (exit 1 and one line per problem)
"""

from __future__ import annotations

import argparse
import ast
import importlib
import importlib.metadata
import inspect
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

#: Nodes of packages whose names start with this are checked; the others are listed as not checked.
CHECKED_PACKAGES = 'robolearn_'


@dataclass
class NodeSpec:
    """A Node(...) action as written in a launch file."""

    launch_file: Path
    line: int
    package: str | None
    executable: str | None
    name: str | None
    namespace: str | None
    param_files: list[str] = field(default_factory=list)
    inline_params: dict[str, Any] = field(default_factory=dict)
    #: inline parameters whose value is computed at launch time: name -> ParameterValue's value_type
    #: ('str', 'int', ...), or None for a bare substitution
    launch_time_params: dict[str, str | None] = field(default_factory=dict)

    @property
    def where(self) -> str:
        return f'{self.launch_file.name}:{self.line}'

    @property
    def checked(self) -> bool:
        """A node of one of robolearn's packages (or one whose package is not a literal, which is a problem)."""
        return not isinstance(self.package, str) or self.package.startswith(CHECKED_PACKAGES)


def _literal(node: ast.AST | None) -> Any:
    if node is None:
        return None
    try:
        return ast.literal_eval(node)
    except ValueError:
        return None


def _yaml_names(tree: ast.AST) -> list[str]:
    return [
        n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str) and n.value.endswith('.yaml')
    ]


def parse_launch_file(path: Path) -> list[NodeSpec]:
    """Every Node(...) call in a launch file, with literal arguments resolved (variables followed once)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    assignments: dict[str, ast.AST] = {}
    for n in ast.walk(tree):
        if isinstance(n, ast.Assign):
            for target in n.targets:
                if isinstance(target, ast.Name):
                    assignments[target.id] = n.value
    specs = []
    for n in ast.walk(tree):
        if not isinstance(n, ast.Call):
            continue
        func = n.func
        fname = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
        if fname != 'Node':
            continue
        kw = {k.arg: k.value for k in n.keywords if k.arg}
        spec = NodeSpec(
            path,
            n.lineno,
            _literal(kw.get('package')),
            _literal(kw.get('executable')),
            _literal(kw.get('name')),
            _literal(kw.get('namespace')),
        )
        params = kw.get('parameters')
        if isinstance(params, ast.Name):
            params = assignments.get(params.id, params)
        for element in params.elts if isinstance(params, (ast.List, ast.Tuple)) else []:
            if isinstance(element, ast.Name):
                element = assignments.get(element.id, element)
            if isinstance(element, ast.Dict):
                for key, value in zip(element.keys, element.values):
                    name = _literal(key)
                    if not isinstance(name, str):
                        continue
                    if isinstance(value, ast.Name):
                        value = assignments.get(value.id, value)
                    try:
                        spec.inline_params[name] = ast.literal_eval(value)
                    except ValueError:
                        spec.launch_time_params[name] = _parameter_value_type(value)
            else:
                spec.param_files += _yaml_names(element)
        specs.append(spec)
    return specs


def _parameter_value_type(value: ast.AST) -> str | None:
    """'str' for ``ParameterValue(x, value_type=str)``; None for anything else (launch_ros then guesses by YAML)."""
    if isinstance(value, ast.Call):
        func = value.func
        fname = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
        if fname == 'ParameterValue':
            for k in value.keywords:
                if k.arg == 'value_type':
                    return ast.unparse(k.value)
    return None


#: rclpy Parameter.Type name -> the value_type a ParameterValue needs for it
_VALUE_TYPES = {
    'STRING': 'str',
    'INTEGER': 'int',
    'DOUBLE': 'float',
    'BOOL': 'bool',
    'STRING_ARRAY': 'List[str]',
    'INTEGER_ARRAY': 'List[int]',
    'DOUBLE_ARRAY': 'List[float]',
    'BOOL_ARRAY': 'List[bool]',
}


def _flatten(d: dict[str, Any], prefix: str = '') -> dict[str, Any]:
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flatten(v, f'{prefix}{k}.'))
        else:
            out[f'{prefix}{k}'] = v
    return out


def _section_applies(key: str, name: str, namespace: str | None) -> bool:
    key = key.strip()
    if key in ('/**', '**'):
        return True
    full = '/' + '/'.join(p for p in [(namespace or '').strip('/'), name] if p)
    return key.lstrip('/') in (name, full.lstrip('/')) or key in (f'/**/{name}',)


def node_class(package: str, executable: str) -> type:
    """The rclpy Node subclass behind a console script (the one defined in its entry point's module)."""
    from rclpy.node import Node

    scripts = {ep.name: ep for ep in importlib.metadata.distribution(package).entry_points if ep.group == 'console_scripts'}
    module = importlib.import_module(scripts[executable].module)
    classes = [
        c for _, c in inspect.getmembers(module, inspect.isclass) if issubclass(c, Node) and c.__module__ == module.__name__
    ]
    if len(classes) != 1:
        raise LookupError(f'{scripts[executable].module} defines {len(classes)} rclpy Node classes; the check needs exactly one')
    return classes[0]


def declared_parameters(cls: type, overrides: dict[str, Any]) -> tuple[dict[str, str], str]:
    """Instantiate ``cls`` with ``overrides``; return its declared parameters (name -> type name, e.g.
    'STRING') and its default node name."""
    import rclpy
    from rclpy.context import Context
    from rclpy.parameter import Parameter

    context = Context()
    rclpy.init(context=context, args=[])
    try:
        node = cls(context=context, parameter_overrides=[Parameter(k, value=v) for k, v in overrides.items()])
        try:
            return {name: p.type_.name for name, p in node._parameters.items()}, node.get_name()
        finally:
            node.destroy_node()
    finally:
        rclpy.shutdown(context=context)


def check(launch_dir: Path, config_dir: Path, not_checked: list[str] | None = None) -> list[str]:
    """All problems found, one sentence each naming the file and what to change. The nodes of other packages
    than robolearn's are appended to ``not_checked`` (``package/executable (file:line)``)."""
    problems: list[str] = []
    launch_files = sorted(launch_dir.glob('*.launch.py'))
    if not launch_files:
        return [f'no *.launch.py files in {launch_dir}']
    sections_used: dict[str, set[str]] = {}
    for lf in launch_files:
        try:
            specs = parse_launch_file(lf)
        except SyntaxError as e:
            problems.append(f'{lf.name}: does not parse: {e}')
            continue
        problems += _check_includes(lf, launch_dir)
        for spec in specs:
            if spec.checked:
                problems += _check_node(spec, config_dir, sections_used)
                continue
            if not_checked is not None:
                not_checked.append(f'{spec.package}/{spec.executable} ({spec.where})')
            for yaml_name in spec.param_files:  # its YAML sections are not orphans; their keys are its own
                path = config_dir / yaml_name
                data = (yaml.safe_load(path.read_text()) or {}) if path.exists() else {}
                sections_used.setdefault(yaml_name, set()).update(
                    k for k in data if _section_applies(str(k), spec.name or spec.executable or '', spec.namespace))
    for yaml_name, used in sorted(sections_used.items()):
        data = yaml.safe_load((config_dir / yaml_name).read_text()) or {}
        for key in data:
            if key not in used:
                problems.append(f'{yaml_name}: section {key!r} configures no node in the launch files (renamed node?)')
    return problems


def _check_includes(lf: Path, launch_dir: Path) -> list[str]:
    names = [
        n.value
        for n in ast.walk(ast.parse(lf.read_text()))
        if isinstance(n, ast.Constant) and isinstance(n.value, str) and n.value.endswith('.launch.py')
    ]
    return [f'{lf.name}: includes {n}, which is not in {launch_dir}' for n in names if not (launch_dir / n).exists()]


def _check_node(spec: NodeSpec, config_dir: Path, sections_used: dict[str, set[str]]) -> list[str]:
    if not spec.package or not spec.executable:
        return [f'{spec.where}: Node(package=, executable=) must be string literals for the check to follow them']
    try:
        dist = importlib.metadata.distribution(spec.package)
    except importlib.metadata.PackageNotFoundError:
        return [f'{spec.where}: package {spec.package!r} is not installed (not a workspace package, or not built)']
    scripts = sorted(ep.name for ep in dist.entry_points if ep.group == 'console_scripts')
    if spec.executable not in scripts:
        return [
            f'{spec.where}: {spec.package} has no executable {spec.executable!r}; '
            f'its console scripts: {", ".join(scripts) or "none"}'
        ]
    problems = []
    try:
        cls = node_class(spec.package, spec.executable)
        _, default_name = declared_parameters(cls, {})
    except Exception as e:  # noqa: BLE001 - any failure to build the node is a finding to report
        return [f'{spec.where}: cannot instantiate the node class of {spec.package}/{spec.executable}: {e}']
    name = spec.name or default_name
    values: dict[str, tuple[str, Any]] = {k: ('inline parameters', v) for k, v in _flatten(spec.inline_params).items()}
    for yaml_name in spec.param_files:
        path = config_dir / yaml_name
        if not path.exists():
            problems.append(f'{spec.where}: parameter file {yaml_name} does not exist in {config_dir}')
            continue
        data = yaml.safe_load(path.read_text()) or {}
        used = sections_used.setdefault(yaml_name, set())
        for key, section in data.items():
            if not _section_applies(str(key), name, spec.namespace):
                continue
            used.add(key)
            params = (section or {}).get('ros__parameters')
            if not isinstance(params, dict):
                problems.append(f'{yaml_name}: section {key!r} has no ros__parameters mapping')
                continue
            for k, v in _flatten(params).items():
                values[k] = (f'{yaml_name} [{key}]', v)
    try:
        declared, _ = declared_parameters(cls, {k: v for k, (_, v) in values.items()})
    except Exception as e:  # noqa: BLE001
        return problems + [f'{spec.where}: node {name} rejects its parameters: {type(e).__name__}: {e}']
    known = ', '.join(sorted(set(declared) - {'use_sim_time'}))
    for k, (source, _) in sorted(values.items()):
        if k not in declared and k != 'use_sim_time':
            problems.append(
                f'{source}: {k!r} is not a parameter of {spec.package}/{spec.executable} (node {name}); declared: {known}'
            )
    for k, value_type in sorted(spec.launch_time_params.items()):
        if k not in declared:
            problems.append(
                f'{spec.where}: inline parameter {k!r} is not a parameter of {spec.package}/{spec.executable} '
                f'(node {name}); declared: {known}'
            )
            continue
        wanted = _VALUE_TYPES.get(declared[k])
        if value_type is None:
            problems.append(
                f'{spec.where}: inline parameter {k!r} of node {name} is a launch-time substitution: wrap it in '
                f'ParameterValue(..., value_type={wanted}), or launch_ros reads it as YAML ({k}:=1 would not be a {wanted})'
            )
        elif wanted and value_type != wanted:
            problems.append(
                f'{spec.where}: inline parameter {k!r} of node {name} is ParameterValue(value_type={value_type}), '
                f'but the node declares it {declared[k]}: use value_type={wanted}'
            )
    return problems


def _default_dirs() -> tuple[Path, Path]:
    try:
        from ament_index_python.packages import get_package_share_directory

        share = Path(get_package_share_directory('robolearn_bringup'))
        return share / 'launch', share / 'config'
    except Exception:  # noqa: BLE001 - fall back to the source tree
        root = Path(__file__).resolve().parents[3]
        return root / 'launch', root / 'config'


def main(argv: list[str] | None = None) -> int:
    launch_default, config_default = _default_dirs()
    parser = argparse.ArgumentParser(
        prog='check_launch', description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument('--launch-dir', type=Path, default=launch_default, help='default: %(default)s')
    parser.add_argument('--config-dir', type=Path, default=config_default, help='default: %(default)s')
    args = parser.parse_args(argv)
    not_checked: list[str] = []
    problems = check(args.launch_dir, args.config_dir, not_checked)
    for p in problems:
        print(f'check_launch: {p}', file=sys.stderr)
    if not_checked:
        print(f'check_launch: not checked (not robolearn packages): {", ".join(not_checked)}')
    n = len(list(args.launch_dir.glob('*.launch.py')))
    print(f'check_launch: {n} launch files, {len(problems)} problems, {len(not_checked)} nodes of other packages not checked')
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
