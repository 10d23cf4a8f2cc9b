"""List the NIL task ids (and, with --all, every task Isaac Lab's entry points register); --readme FILE rewrites the
task and robot tables of the README from the registry and the robot files."""

import sys

import gymnasium as gym

from nil_ext import cli
from nil_ext.task_loading import import_tasks


def main(argv=None) -> None:
    parser = cli.ArgumentParser(description=__doc__)
    parser.add_argument("--all", action="store_true", help="also list tasks of other Isaac Lab extensions")
    parser.add_argument("--readme", help="rewrite this README's tables of tasks and robots")
    args = parser.parse_args(argv)
    import_tasks("")
    if args.readme:
        from nil_ext.tasks.catalogue import with_tables

        with open(args.readme) as f:
            text = f.read()
        with open(args.readme, "w") as f:
            f.write(with_tables(text))
        print(f"[INFO] Wrote the tables of tasks and robots into {args.readme}")
        return
    for task_id in sorted(gym.registry):
        spec = gym.registry[task_id]
        if task_id.startswith("NIL-") or (args.all and "env_cfg_entry_point" in spec.kwargs):
            agents = [k.removesuffix("_cfg_entry_point") for k in spec.kwargs if k.endswith("_cfg_entry_point")]
            print(f"{task_id:24s} agents: {', '.join(a for a in agents if a != 'env')}")


if __name__ == "__main__":
    sys.exit(cli.run(main))
