"""Learning agents of nil_ext and the vectorised env interface they see (:mod:`nil_ext.agents.vec_env`).

Agents see a vectorised env and numbers only: nothing here imports our tasks or reward terms.
"""
