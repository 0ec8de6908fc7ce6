"""The synthetic REACT 2023 raw layout (`make_react`): conversations with turns, sessions, mirrored rows
and the neighbour matrix."""
from __future__ import annotations

import os
from typing import Sequence

import numpy as np
import scipy.signal

from listen_jax.synthetic.common import DEFAULT_SAMPLE_RATE
from listen_jax.synthetic.common import EMOTION_COLUMNS
from listen_jax.synthetic.common import REACT_CSV_HEADER
from listen_jax.synthetic.common import REACT_FPS
from listen_jax.synthetic.common import REACT_SPLITS
from listen_jax.synthetic.common import SyntheticError
from listen_jax.synthetic.emotion import emotion_from_faceverse
from listen_jax.synthetic.motion import Motion
from listen_jax.synthetic.motion import _NOD_LAG_S
from listen_jax.synthetic.motion import _shift
from listen_jax.synthetic.motion import add_blinks
from listen_jax.synthetic.motion import add_listening
from listen_jax.synthetic.motion import add_speaking
from listen_jax.synthetic.motion import render_faceverse
from listen_jax.synthetic.persons import make_person
from listen_jax.synthetic.persons import style
from listen_jax.synthetic.speech import speech_frames
from listen_jax.synthetic.speech import syllable_schedule
from listen_jax.synthetic.speech import synthesize_speech
from listen_jax.synthetic.writers import _check_common
from listen_jax.synthetic.writers import _split_counts
from listen_jax.synthetic.writers import write_wav


def _turns(rng: np.random.Generator, duration_s: float) -> tuple[list, list]:
  """Alternating speaking turns of the two persons: ([(start, end)] of person 0, of person 1)."""
  turns = ([], [])
  t, who = rng.uniform(0.1, 0.4), int(rng.integers(0, 2))
  while t < duration_s - 0.8:
    length = rng.uniform(2.5, 6.0)
    end = min(t + length, duration_s - 0.1)
    turns[who].append((t, end))
    t = end + rng.uniform(0.3, 0.8)
    who = 1 - who
  return turns


def _turn_mask(turns, num_frames: int, fps: float) -> np.ndarray:
  """[T] 1 inside the turns, 0 outside, sampled at frame centres."""
  t = (np.arange(num_frames) + 0.5) / fps
  mask = np.zeros(num_frames)
  for start, end in turns:
    mask[(t >= start) & (t < end)] = 1.0
  return mask


_UDIVA_TASKS = ("talk", "animals", "lego", "ghost")


def _react_sessions(rng: np.random.Generator, counts: Sequence[int],
                    udiva_fraction: float = 0.0) -> list[list[tuple[str, str, str]]]:
  """Per split, (site, session, clip) of each csv row; a session belongs to one split.

  With `udiva_fraction` > 0 that share of sessions is UDIVA (session `<task>/<6-digit id>`, 5-level paths);
  with 0 no extra random numbers are drawn, so the other sites' sessions are those of earlier releases.
  """
  cities = ("Nottingham", "Paris", "Augsburg")
  out, recola_group, noxi_index, udiva_index = [], 0, 0, 0
  for n in counts:
    rows = []
    while len(rows) < n:
      clips = min(n - len(rows), int(rng.integers(2, 6)))
      if udiva_fraction > 0 and rng.random() < udiva_fraction:
        udiva_index += int(rng.integers(1, 4))
        site = "UDIVA"
        session = f"{_UDIVA_TASKS[int(rng.integers(0, len(_UDIVA_TASKS)))]}/{23000 + udiva_index:06d}"
      elif rng.random() < 0.15:
        recola_group += 1
        site, session = "RECOLA", f"group-{recola_group}"
      else:
        noxi_index += int(rng.integers(1, 4))
        month, day = int(rng.integers(1, 13)), int(rng.integers(1, 29))
        site = "NoXI"
        session = f"{noxi_index:03d}_2016-{month:02d}-{day:02d}_{cities[int(rng.integers(0, 3))]}"
      rows.extend((site, session, str(c + 1)) for c in range(clips))
    out.append(rows)
  return out


def react_person_path(site: str, session: str, clip: str, column: int) -> str:
  """Relative path (no extension) of csv column 1 (Expert / P25 / FC1) or 2 (Novice / P26 / FC2) of a clip."""
  if site == "NoXI":
    return f"NoXI/{session}/{('Expert_video', 'Novice_video')[column - 1]}/{clip}"
  if site == "UDIVA":  # session is '<task>/<id>': UDIVA/talk/023102/FC1/8
    return f"UDIVA/{session}/{('FC1', 'FC2')[column - 1]}/{clip}"
  return f"{site}/{session}/{('P25', 'P26')[column - 1]}/{clip}"


def neighbour_matrix(styles: np.ndarray) -> np.ndarray:
  """[N, N] float64 0/1: A[k, j] = 1 iff items k and j have the same speaker style (diagonal 1)."""
  styles = np.asarray(styles)
  return (styles[:, None] == styles[None, :]).astype(np.float64)


def _dyad_styles(rng: np.random.Generator, num_styles: int, num_rows: int) -> np.ndarray:
  """[2M] balanced random styles in mirrored order where the two persons of every dyad differ.

  An item's mirrored twin (its listener is this item's speaker) is then never among its appropriate neighbours,
  so the Mime baseline cannot copy a neighbour. A random balanced assignment is repaired by swapping second
  persons between dyads, which keeps the style counts and the randomness of the pairing.
  """
  styles = rng.permutation(np.resize(np.arange(num_styles), 2 * num_rows))
  if num_styles < 2:
    return styles
  first, second = styles[:num_rows], styles[num_rows:].copy()
  for i in range(num_rows):
    if first[i] != second[i]:
      continue
    ok = np.flatnonzero((second != first[i]) & (first != second[i]))
    if ok.size == 0:
      raise SyntheticError(f"cannot give {num_rows} dyads two different styles out of {num_styles}")
    j = int(rng.choice(ok))
    second[i], second[j] = second[j], second[i]
  return np.concatenate([first, second])


def make_react(out_dir: str, num_clips: int, seed: int, *, fps: float = REACT_FPS,
               sample_rate: int = DEFAULT_SAMPLE_RATE, min_seconds: float = 12.0, max_seconds: float = 12.0,
               num_styles: int = 4, crosstalk: float = 0.05,
               split_ratios: Sequence[float] = (0.6, 0.2, 0.2),
               lead_in_seconds: tuple[float, float] = (3.0, 8.0), udiva_fraction: float = 0.0,
               threedmm_singleton_axis: bool = False) -> dict:
  """Writes a synthetic REACT 2023 raw dataset (see the module docstring for the layout).

  Each csv row is a dyadic clip in which both persons talk in turns; each person has audio, FaceVerse 3DMM and
  emotion for the whole clip. Every item of the mirrored order (k < M: column-1 person speaks, k >= M: column-2
  person speaks) has a latent speaker style; the listener of that item reacts to the style (`STYLES`), and the
  neighbour matrix marks items with the same style as appropriate for each other.

  Args:
    out_dir: output folder (created; files of the same names are overwritten, others are left alone).
    num_clips: total csv rows over train/val/test (at least 3).
    seed: random seed; the same seed gives identical files.
    fps: video frame rate.
    sample_rate: wav sample rate in Hz.
    min_seconds, max_seconds: range of clip durations (equal by default: the metrics stack clips of one length).
    num_styles: number of latent speaker styles (1-12); each style is used by several items of a split.
    crosstalk: level of the partner's voice leaking into each person's audio.
    split_ratios: relative sizes of train, val, test.
    lead_in_seconds: (min, max) of a per-clip random lead-in. Like the real corpus, whose clips are cut out of
      longer sessions, each conversation is simulated from its start and the clip begins after the lead-in, so
      clips do not share a start transient (both persons at rest, first turn, offsets ramping in) that a
      per-frame mean over training clips (the MeanSeq baseline) could exploit. (0, 0) starts at rest.
    udiva_fraction: share of sessions from UDIVA (5-level paths such as `UDIVA/talk/023102/FC1/8`), as in the
      real 2023 listings; 0 (the default) writes NoXI and RECOLA sessions only.
    threedmm_singleton_axis: store each 3DMM array as [T, 1, 58], as some real files are, instead of [T, 58].

  Returns:
    {split: dict(rows=[(speaker_path, listener_path)], styles=[2M] int, num_frames=[M] int)}.
  """
  what = f"make_react({out_dir!r})"
  _check_common(num_clips, fps, sample_rate, min_seconds, max_seconds, what)
  if not 1 <= num_styles <= 12:
    raise SyntheticError(f"{what}: num_styles must be in [1, 12], got {num_styles}")
  lead_lo, lead_hi = (float(v) for v in lead_in_seconds)
  if not 0.0 <= lead_lo <= lead_hi:
    raise SyntheticError(f"{what}: lead_in_seconds must be (min, max) with 0 <= min <= max, got {lead_in_seconds}")
  if not 0.0 <= udiva_fraction <= 1.0:
    raise SyntheticError(f"{what}: udiva_fraction must be in [0, 1], got {udiva_fraction}")
  counts = _split_counts(int(num_clips), split_ratios, what)
  os.makedirs(out_dir, exist_ok=True)
  meta = np.random.default_rng([seed, 0])
  sessions = _react_sessions(meta, counts, udiva_fraction)
  person_ids: dict[tuple[str, int], int] = {}
  summary = {}
  clip_index = 0
  for split, split_rows in zip(REACT_SPLITS, sessions):
    m = len(split_rows)
    # Balanced style assignment over the 2M items, so every style has several items in the split.
    n_styles = max(1, min(num_styles, (2 * m) // 2))
    styles = _dyad_styles(meta, n_styles, m)
    frames = np.round(meta.uniform(min_seconds, max_seconds, m) * fps).astype(int)
    rows = []
    for r, (site, session, clip) in enumerate(split_rows):
      rng = np.random.default_rng([seed, 3, clip_index])
      clip_index += 1
      clip_frames = int(frames[r])
      lead = int(round(rng.uniform(lead_lo, lead_hi) * fps))
      t_frames = clip_frames + lead  # the simulated conversation; the clip is its last `clip_frames` frames
      lead_samples = int(round(lead * sample_rate / fps))
      clip_samples = int(round(clip_frames * sample_rate / fps))
      num_samples = lead_samples + clip_samples
      paths = [react_person_path(site, session, clip, col) for col in (1, 2)]
      persons = []
      for col in (0, 1):
        key = (f"{site}/{session}", col)
        person_ids.setdefault(key, len(person_ids))
        persons.append(make_person(person_ids[key], seed, "react"))
      person_styles = [style(int(styles[r])), style(int(styles[r + m]))]
      turns = _turns(rng, t_frames / fps)
      syls = [syllable_schedule(rng, turns[p], persons[p], person_styles[p]) for p in (0, 1)]
      voices = [synthesize_speech(rng, syls[p], num_samples, int(sample_rate)) for p in (0, 1)]
      sfs = [speech_frames(syls[p], t_frames, fps) for p in (0, 1)]
      masks = [_turn_mask(turns[p], t_frames, fps) for p in (0, 1)]
      motions = [Motion.zeros(t_frames) for _ in (0, 1)]
      for p in (0, 1):
        add_speaking(rng, motions[p], sfs[p], persons[p], person_styles[p], fps, smile_weight=0.3 + 0.7 * masks[p])
        add_blinks(rng, motions[p], fps)
      for p in (0, 1):
        q = 1 - p
        # Offsets while the partner holds the turn, ramping in and out with the response lag.
        listening = scipy.signal.lfilter([0.15], [1.0, -0.85], _shift(masks[q], int(round(_NOD_LAG_S * fps))))
        add_listening(rng, motions[p], sfs[q], motions[q].spontaneous_smile, person_styles[q].reaction,
                      persons[p], fps, listening=listening)
      for p in (0, 1):
        fv = render_faceverse(rng, motions[p], persons[p], drift_scale=1.5)[lead:]
        audio = (voices[p] + crosstalk * voices[1 - p])[lead_samples:]
        base = os.path.join(out_dir, split)
        write_wav(os.path.join(base, "Audio_files", paths[p] + ".wav"), np.clip(audio, -1.0, 1.0),
                  int(sample_rate))
        npy = os.path.join(base, "3D_FV_files", paths[p] + ".npy")
        os.makedirs(os.path.dirname(npy), exist_ok=True)
        np.save(npy, fv[:, None, :] if threedmm_singleton_axis else fv)
        emo = os.path.join(base, "Emotion", paths[p] + ".csv")
        os.makedirs(os.path.dirname(emo), exist_ok=True)
        np.savetxt(emo, emotion_from_faceverse(fv, fps), fmt="%.6f", delimiter=",",
                   header=",".join(EMOTION_COLUMNS), comments="")
      rows.append(tuple(paths))
    with open(os.path.join(out_dir, f"{split}.csv"), "w", newline="") as f:
      f.write(REACT_CSV_HEADER + "\n")
      for r, (p1, p2) in enumerate(rows):
        f.write(f"{r},{p1},{p2}\n")
    np.save(os.path.join(out_dir, f"neighbour_emotion_{split}.npy"), neighbour_matrix(styles))
    summary[split] = dict(rows=rows, styles=styles.tolist(), num_frames=frames.tolist())
  return summary
