"""The robots NIL knows: where each lives in Menagerie, its start pose and its standing PD gains.

Gains are multiples of each joint's torque limit (kp = kp_per_effort * limit, kd = kd_per_kp * kp), tuned per
robot until four envs hold the start pose for 1 s under Newton and under plain MuJoCo (tests/test_robots.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class RobotSpec:
    name: str
    """Short name used on the command line and in task ids (``h1``)."""
    display_name: str
    """Name used in prompts (``Unitree H1``)."""
    menagerie_name: str
    """Folder in MuJoCo Menagerie."""
    mjcf: str
    """The robot's MJCF file (torque actuators) inside that folder."""
    keyframe_file: str | None = None
    """File holding the start keyframe when it is not in ``mjcf`` (H1 keeps it in scene.xml)."""
    keyframe: str | int | None = 0
    """Keyframe name or index for the start pose; None uses the model's reference pose qpos0."""
    pose_overrides: dict[str, float] = field(default_factory=dict)
    """Joint regex -> position, applied over the keyframe (fixes keyframes outside joint limits)."""
    gains_file: str | None = None
    """A position-actuator MJCF of the same robot whose kp to use (TALOS); else kp_per_effort."""
    kp_per_effort: float = 2.0
    kd_per_kp: float = 0.05
    base_body: str = "pelvis"
    foot_bodies: str = ".*ankle.*"
    """Regex of the bodies that touch the ground when walking (foot slip penalty, contact)."""
    hand_bodies: str | None = None
    """Regex of the two bodies that carry the hands (whole-body skills: hanging); None: none known."""
    hand_offset: tuple[float, float, float] = (0.0, 0.0, 0.0)
    """The hand's point in its body's frame (H1 has no hand body: the tip of its forearm)."""
    quadruped: bool = False
    action_scale: float = 0.5
    """Radians of PD target offset per unit of action (Isaac Lab's locomotion tasks: 0.5 humanoids, 0.25 quadrupeds)."""


ROBOTS: dict[str, RobotSpec] = {
    spec.name: spec
    for spec in (
        RobotSpec(
            name="h1",
            display_name="Unitree H1",
            menagerie_name="unitree_h1",
            mjcf="h1.xml",
            keyframe_file="scene.xml",
            keyframe="home",
            # The bent "home" pose tips H1 back under PD; straight legs with the ankles pitched 0.15 rad forward
            # put the centre of mass over the feet (1.2 degrees of tilt after 1 s in plain MuJoCo).
            pose_overrides={".*_hip_pitch": 0.0, ".*_knee": 0.0, ".*_ankle": -0.15},
            kp_per_effort=5.0,
            kd_per_kp=0.02,
            base_body="pelvis",
            foot_bodies=".*_ankle_link",
            hand_bodies=".*_elbow_link",
            hand_offset=(0.28, 0.0, -0.015),  # the sphere at the end of the forearm's collision capsule
        ),
        RobotSpec(
            name="g1",
            display_name="Unitree G1",
            menagerie_name="unitree_g1",
            mjcf="g1.xml",
            keyframe="stand",
            kp_per_effort=10.0,
            kd_per_kp=0.02,
            base_body="pelvis",
            foot_bodies=".*_ankle_roll_link",
            hand_bodies="(left|right)_zero_link",  # the palm site of the hand
        ),
        RobotSpec(
            name="talos",
            display_name="PAL TALOS",
            menagerie_name="pal_talos",
            mjcf="talos_motor.xml",
            keyframe=0,
            gains_file="talos_position.xml",
            kd_per_kp=0.05,
            base_body="base_link",
            foot_bodies="leg_.*_6_link",
        ),
        RobotSpec(
            name="a1",
            display_name="Unitree A1",
            menagerie_name="unitree_a1",
            mjcf="a1.xml",
            keyframe="home",
            # This keyframe puts RR_calf_joint outside its range: use the standing pose.
            pose_overrides={".*_hip_joint": 0.0, ".*_thigh_joint": 0.9, ".*_calf_joint": -1.8},
            kp_per_effort=4.0,
            kd_per_kp=0.05,
            base_body="trunk",
            foot_bodies=".*_calf",
            quadruped=True,
            action_scale=0.25,  # at 0.5 exploration tips it over in nearly every early training episode (measured)
        ),
    )
}


class UnknownRobotError(KeyError):
    def __str__(self) -> str:  # KeyError quotes its message; we want it readable
        return str(self.args[0])


def get_robot_spec(name: str) -> RobotSpec:
    """The spec of a known robot; an unknown name lists the known ones."""
    try:
        return ROBOTS[name.lower()]
    except KeyError:
        raise UnknownRobotError(
            f"Unknown robot '{name}'. Known robots: {', '.join(sorted(ROBOTS))}. "
            "To add one, give its Menagerie folder, MJCF file and start pose in nil_ext/assets/robots.py."
        ) from None
