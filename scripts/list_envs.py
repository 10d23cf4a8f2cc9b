"""List the NIL task ids (and, with --all, every task Isaac Lab's entry points register)."""

import argparse

import gymnasium as gym

from nil_ext.task_loading import import_tasks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--all", action="store_true", help="also list tasks of other Isaac Lab extensions")
    args = parser.parse_args()
    import_tasks("")
    for task_id in sorted(gym.registry):
        spec = gym.registry[task_id]
        if task_id.startswith("NIL-") or (args.all and "env_cfg_entry_point" in spec.kwargs):
            agents = [k.removesuffix("_cfg_entry_point") for k in spec.kwargs if k.endswith("_cfg_entry_point")]
            print(f"{task_id:24s} agents: {', '.join(a for a in agents if a != 'env')}")


if __name__ == "__main__":
    main()
