"""Check a robot file without the simulator: ``python -m nil_ext.assets robot.toml``.

Prints what NIL reads from it (model, actuated joints with torque limits and gains, start pose, notes on what was
added) and, where the file gives no start pose, how the pose found held under its PD for 2 s in plain MuJoCo.
A broken file is refused with one line naming the field; the exit status is 1.
"""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nil_ext.assets", description=__doc__.splitlines()[0])
    parser.add_argument("robot_file", help="a robot file (TOML)")
    args = parser.parse_args(argv)

    from .menagerie import MenagerieNotFoundError
    from .mjcf import MjcfError
    from .robot_model import read_robot_info
    from .robots import RobotConfigError, load_robot_file

    try:
        spec = load_robot_file(args.robot_file)
        info = read_robot_info(spec, spec.model_dir())
    except (RobotConfigError, MjcfError, MenagerieNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(f"{spec.name} ({spec.display_name}): {spec.model_kind} {spec.model_name}")
    print(f"  {len(info.joint_names)} actuated joints      effort    kp        kd      start")
    for j in info.joint_names:
        print(f"    {j:24s} {info.effort_limit[j]:8.1f} {info.stiffness[j]:8.1f} {info.damping[j]:8.2f} "
              f"{info.joint_pos[j]:+7.3f}")
    x, y, z = info.base_pos
    print(f"  base '{spec.base_body}' at ({x:.3f}, {y:.3f}, {z:.3f}) m, quaternion xyzw {info.base_quat_xyzw}")
    for note in info.notes:
        print(f"  note: {note}")
    if info.stand is not None:
        print(f"  start pose found: {info.stand} -> {'holds' if info.stand.holds else 'does not hold'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
