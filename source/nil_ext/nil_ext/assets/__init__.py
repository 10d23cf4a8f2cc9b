"""Robots for Isaac Lab from robot files: MuJoCo Menagerie lookup, MJCF / URDF -> USD or USD as it is, articulation
configs.

Importing this package does not import the simulator; ``robot_cfg`` does.
"""

from .menagerie import MENAGERIE_DIR_ENV, MenagerieNotFoundError, menagerie_robot_dir
from .mjcf import MjcfError, load_mjcf
from .robots import ROBOTS, RobotConfigError, RobotSpec, UnknownRobotError, get_robot_spec, load_robot_file

__all__ = ["MENAGERIE_DIR_ENV", "ROBOTS", "MenagerieNotFoundError", "MjcfError", "RobotConfigError", "RobotSpec",
           "UnknownRobotError", "get_robot_spec", "load_mjcf", "load_robot_file", "menagerie_robot_dir"]
