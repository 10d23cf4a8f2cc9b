"""Draws docs/images/architecture.png (the architecture page's picture): run it with the project's Python after a
change to the data flow or the import rules, ``./isaaclab.sh -p docs/images/architecture.py``."""

from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch

DATA = {"face": "#fff4e0", "edge": "#c8860a"}
CODE = {"face": "#e8f1fb", "edge": "#2a6cb0"}
LAYER = {"face": "#f2f2f2", "edge": "#555555"}

FLOW = [  # (title, text, style): left to right, each box feeds the next
    ("reference/", "bundle: frames, masks,\ncamera path, at the\ncontrol rate", DATA),
    ("tasks/mdp/", "ImitationCommand\n(command term): reference\ntime, camera aim, the\nstep's render", CODE),
    ("tasks/mdp/", "reward terms: each\ncomputes its value from\nthe command and the\nrobot's state", CODE),
    ("Isaac Lab env", "ManagerBasedRLEnv,\nNewton physics +\nWarp camera", CODE),
    ("agents/bro/", "off-policy runner\n(loop, logs, checkpoints)\n+ BRO algorithm", CODE),
    ("logs/", "model_*.pt, params/,\nTensorBoard, exports,\nside-by-side video", DATA),
]

LAYERS = {  # name: (x, y, text)
    "scripts/": (5.6, 3.0, "train, play, evaluate, probe,\ngenerate_reference, benchmark"),
    "tasks/": (2.2, 1.5, "env configs, command,\nreward terms, registration"),
    "evaluation/": (5.6, 1.5, "env reward, rollouts,\nprobe, videos"),
    "agents/": (9.0, 1.5, "BRO; sees a vectorised\nenv and numbers"),
    "reference/": (0.4, 0.0, "Stage 1: first frame,\ngenerators, segmenters"),
    "scene/": (3.2, 0.0, "ground, robot, camera,\nprops, masks"),
    "assets/": (6.0, 0.0, "robot files -> MJCF/USD\n-> ArticulationCfg"),
    "rewards/": (8.8, 0.0, "encoder, S_video, S_iou,\npenalties (pure torch)"),
}
IMPORTS = [("scripts/", "tasks/"), ("scripts/", "evaluation/"), ("scripts/", "agents/"), ("evaluation/", "tasks/"),
           ("tasks/", "reference/"), ("tasks/", "scene/"), ("tasks/", "assets/"), ("tasks/", "rewards/"),
           ("reference/", "scene/"), ("scene/", "assets/")]
NEVER = "never:\n  scene/ -> reference/\n  rewards/ -> tasks/, agents/\n  agents/ -> tasks/\n  assets/ -> tasks/"


def box(ax, x, y, w, h, title, text, style):
    ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.02,rounding_size=0.12", lw=1.6,
                                facecolor=style["face"], edgecolor=style["edge"]))
    ax.text(x + w / 2, y + h * 0.78, title, ha="center", va="center", family="monospace", weight="bold", size=11)
    ax.text(x + w / 2, y + h * 0.38, text, ha="center", va="center", size=8.6, linespacing=1.3)


def arrow(ax, start, end, color):
    ax.annotate("", xy=end, xytext=start, arrowprops={"arrowstyle": "-|>", "color": color, "lw": 1.6,
                                                       "shrinkA": 0, "shrinkB": 0})


def draw(path: Path) -> None:
    fig = Figure(figsize=(14, 7.2))
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, 14)
    ax.set_ylim(-0.2, 7.0)
    ax.axis("off")

    ax.text(0.2, 6.8, "Data flows one way: bundle -> command -> reward terms -> env -> runner -> checkpoint",
            weight="bold", size=13, va="center")
    w, h, gap, y = 2.1, 1.65, 0.23, 4.8
    for i, (title, text, style) in enumerate(FLOW):
        x = 0.18 + i * (w + gap)
        box(ax, x, y, w, h, title, text, style)
        if i:
            arrow(ax, (x - gap, y + h / 2), (x, y + h / 2), "#2a6cb0")
    ax.text(0.2, 4.3, "Imports run one way (an arrow: may import)", weight="bold", size=13, va="center")
    lw, lh = 2.45, 1.05
    for name, (x, y, text) in LAYERS.items():
        box(ax, x, y, lw, lh, name, text, LAYER)
    for a, b in IMPORTS:
        (xa, ya, _), (xb, yb, _) = LAYERS[a], LAYERS[b]
        if ya == yb:  # side by side
            start, end = ((xa + lw, ya + lh / 2), (xb, yb + lh / 2)) if xa < xb else ((xa, ya + lh / 2),
                                                                                  (xb + lw, yb + lh / 2))
        else:
            start, end = (xa + lw / 2, ya), (xb + lw / 2, yb + lh)
        arrow(ax, start, end, "#555555")
    ax.text(11.6, 3.3, NEVER, family="monospace", size=9.5, color="#b00000", va="top")
    fig.savefig(path, dpi=100)


if __name__ == "__main__":
    draw(Path(__file__).with_name("architecture.png"))
