"""The per-env ring buffer of agent frames."""

import torch

from nil_ext.rewards import ClipBuffer


def _frame(n, value):
    return torch.as_tensor(value, dtype=torch.uint8).view(-1, 1).expand(n, 2).clone()


def test_clip_reads_strided_frames_oldest_first():
    buf = ClipBuffer(num_envs=2, clip_len=3, stride=2, frame_shape=(2,), device="cpu")
    for step in range(10):
        buf.push(_frame(2, [step, 100 + step]))
    clips = buf.clips()
    assert clips.shape == (2, 3, 2)
    assert clips[0, :, 0].tolist() == [5, 7, 9]
    assert clips[1, :, 0].tolist() == [105, 107, 109]


def test_early_clips_clamp_to_first_frame():
    buf = ClipBuffer(num_envs=1, clip_len=4, stride=2, frame_shape=(2,), device="cpu")
    buf.push(_frame(1, [7]))
    assert buf.clips()[0, :, 0].tolist() == [7, 7, 7, 7]
    buf.push(_frame(1, [8]))
    buf.push(_frame(1, [9]))
    assert buf.clips()[0, :, 0].tolist() == [7, 7, 7, 9]


def test_reset_touches_only_its_envs():
    n = 4
    buf = ClipBuffer(num_envs=n, clip_len=3, stride=1, frame_shape=(2,), device="cpu")
    for step in range(5):
        buf.push(_frame(n, [10 * i + step for i in range(n)]))
    frames_before, count_before, clips_before = buf.frames.clone(), buf.count.clone(), buf.clips()

    buf.reset(torch.tensor([1]))
    others = torch.tensor([0, 2, 3])
    assert torch.equal(buf.frames, frames_before)
    assert torch.equal(buf.count[others], count_before[others]) and buf.count[1] == 0
    assert torch.equal(buf.clips()[others], clips_before[others])

    buf.push(_frame(n, [99, 98, 97, 96]))
    clips = buf.clips()
    assert clips[1, :, 0].tolist() == [98, 98, 98]  # env 1's history is its first frame after the reset
    assert clips[0, :, 0].tolist() == [3, 4, 99]
