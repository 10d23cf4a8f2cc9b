"""NIL walking tasks: imitate a reference video of the robot walking forward."""
