"""The synthetic ViCo raw layout (`make_vico`)."""
from __future__ import annotations

import csv
import os
from typing import Sequence

import numpy as np

from listen_jax import layouts
from listen_jax.synthetic.common import DEFAULT_SAMPLE_RATE
from listen_jax.synthetic.common import SyntheticError
from listen_jax.synthetic.common import VICO_CSV_COLUMNS
from listen_jax.synthetic.common import VICO_FPS
from listen_jax.synthetic.common import VICO_IMAGE_SIZE
from listen_jax.synthetic.common import VICO_SPLITS
from listen_jax.synthetic.common import attitude_names
from listen_jax.synthetic.motion import Motion
from listen_jax.synthetic.motion import add_blinks
from listen_jax.synthetic.motion import add_listening
from listen_jax.synthetic.motion import add_speaking
from listen_jax.synthetic.motion import render_vico
from listen_jax.synthetic.persons import ATTITUDE_REACTIONS
from listen_jax.synthetic.persons import STYLES
from listen_jax.synthetic.persons import make_person
from listen_jax.synthetic.persons import style
from listen_jax.synthetic.speech import speech_frames
from listen_jax.synthetic.speech import syllable_schedule
from listen_jax.synthetic.speech import synthesize_speech
from listen_jax.synthetic.writers import _check_common
from listen_jax.synthetic.writers import _random_ids
from listen_jax.synthetic.writers import _split_counts
from listen_jax.synthetic.writers import write_mat
from listen_jax.synthetic.writers import write_wav


def vico_clip_frames(rng: np.random.Generator, num_clips: int, fps: float, min_seconds: float, max_seconds: float,
                     short_fraction: float) -> np.ndarray:
  """Clip lengths in frames: uniform in [min, max] seconds, with a `short_fraction` of clips of 2-3 s.

  Short clips never exceed `max_seconds` (they are drawn from [min(2, min_seconds), min(3, max_seconds)]).
  """
  frames = np.round(rng.uniform(min_seconds, max_seconds, num_clips) * fps).astype(int)
  num_short = int(np.ceil(short_fraction * num_clips)) if short_fraction > 0 else 0
  short = rng.permutation(num_clips)[:num_short]
  short_seconds = rng.uniform(min(2.0, min_seconds), min(3.0, max_seconds), num_short)
  frames[short] = np.round(short_seconds * fps).astype(int)
  return np.maximum(frames, 2)


def make_vico(out_dir: str, num_clips: int, seed: int, *, fps: float = VICO_FPS,
              sample_rate: int = DEFAULT_SAMPLE_RATE, min_seconds: float = 4.0, max_seconds: float = 10.0,
              short_fraction: float = 0.1, split_ratios: Sequence[float] = (0.7, 0.15, 0.15)) -> dict:
  """Writes a synthetic ViCo raw dataset (see the module docstring for the layout).

  Test clips reuse train identities; ood speakers and listeners are people never seen in train or test.

  Args:
    out_dir: output folder (created; files of the same names are overwritten, others are left alone).
    num_clips: total clips over train/test/ood (at least 3).
    seed: random seed; the same seed gives identical files.
    fps: video frame rate.
    sample_rate: wav sample rate in Hz.
    min_seconds, max_seconds: range of clip durations.
    short_fraction: fraction of clips made 2-3 s long (at most 90 frames at 30 fps).
    split_ratios: relative sizes of train, test, ood.

  Returns:
    {split: list of csv row dicts}, each row with the csv columns plus `num_frames` (int).
  """
  what = f"make_vico({out_dir!r})"
  _check_common(num_clips, fps, sample_rate, min_seconds, max_seconds, what)
  if not 0.0 <= short_fraction <= 1.0:
    raise SyntheticError(f"{what}: short_fraction must be in [0, 1], got {short_fraction}")
  counts = _split_counts(int(num_clips), split_ratios, what)
  n_train, n_test, n_ood = counts
  os.makedirs(out_dir, exist_ok=True)
  meta = np.random.default_rng([seed, 0])
  n_in_spk = min(n_train, max(2, -(-(n_train + n_test) // 5)))
  n_in_lst = min(n_train, max(2, -(-(n_train + n_test) // 4)))
  n_ood_spk, n_ood_lst = max(1, -(-n_ood // 3)), max(1, -(-n_ood // 3))
  ids = np.arange(n_in_spk + n_in_lst + n_ood_spk + n_ood_lst)
  in_spk, ids = ids[:n_in_spk], ids[n_in_spk:]
  in_lst, ids = ids[:n_in_lst], ids[n_in_lst:]
  ood_spk, ood_lst = ids[:n_ood_spk], ids[n_ood_spk:]

  def cycled(pool, n):
    return np.resize(meta.permutation(pool), n)

  speakers = np.concatenate([cycled(in_spk, n_train), meta.choice(in_spk, n_test), cycled(ood_spk, n_ood)])
  listeners = np.concatenate([cycled(in_lst, n_train), meta.choice(in_lst, n_test), cycled(ood_lst, n_ood)])
  attitudes = np.concatenate([meta.permutation(np.resize(np.arange(3), n)) for n in counts])
  split_of = np.repeat(np.arange(3), counts)
  frames = vico_clip_frames(meta, int(num_clips), fps, min_seconds, max_seconds, short_fraction)
  uuids = _random_ids(meta, int(num_clips), 12, "abcdefghijklmnopqrstuvwxyz0123456789")
  pairs = sorted({(int(s), int(l)) for s, l in zip(speakers, listeners)})
  pair_video = dict(zip(pairs, _random_ids(meta, len(pairs), 11,
                                           "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")))
  people = {int(p): make_person(int(p), seed, "vico") for p in np.concatenate([speakers, listeners])}

  rows = {split: [] for split in VICO_SPLITS}
  for i in range(int(num_clips)):
    rng = np.random.default_rng([seed, 1, i])
    speaker, listener = people[int(speakers[i])], people[int(listeners[i])]
    attitude = attitude_names[int(attitudes[i])]
    t_frames = int(frames[i])
    num_samples = int(round(t_frames * sample_rate / fps))
    spk_style = style(int(rng.integers(0, len(STYLES))))
    syl = syllable_schedule(rng, [(0.0, t_frames / fps)], speaker, spk_style)
    audio = synthesize_speech(rng, syl, num_samples, int(sample_rate))
    sf = speech_frames(syl, t_frames, fps)
    spk_motion = Motion.zeros(t_frames)
    add_speaking(rng, spk_motion, sf, speaker, spk_style, fps)
    add_blinks(rng, spk_motion, fps)
    lst_motion = Motion.zeros(t_frames)
    add_listening(rng, lst_motion, sf, spk_motion.spontaneous_smile, ATTITUDE_REACTIONS[attitude], listener, fps)
    add_blinks(rng, lst_motion, fps, amplitude=0.4)
    uuid = uuids[i]
    for role, person, motion, drift in (("speaker", speaker, spk_motion, 2.0), ("listener", listener, lst_motion, 1.0)):
      dynamic, static = render_vico(rng, motion, person, drift)
      coeff, transform = layouts.vico_to_bfm(dynamic, static, VICO_IMAGE_SIZE)
      write_mat(os.path.join(out_dir, "recons", f"{uuid}.{role}.mat"),
                {"coeff": coeff.astype(np.float32), "transform_params": transform.astype(np.float32)})
    write_wav(os.path.join(out_dir, "audios", f"{uuid}.wav"), audio, int(sample_rate))
    split = VICO_SPLITS[int(split_of[i])]
    rows[split].append(dict(video_id=pair_video[(speaker.person_id, listener.person_id)], uuid=uuid,
                            speaker_id=speaker.person_id, listener_id=listener.person_id, attitude=attitude,
                            split=split, num_frames=t_frames))
  for split in VICO_SPLITS:
    with open(os.path.join(out_dir, f"{split}.csv"), "w", newline="") as f:
      writer = csv.DictWriter(f, fieldnames=VICO_CSV_COLUMNS, extrasaction="ignore", lineterminator="\n")
      writer.writeheader()
      writer.writerows(rows[split])
  return rows
