"""A robot scene for NIL: ground, light, the robot, and a camera that renders rgb and the robot's mask."""
