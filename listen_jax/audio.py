"""Audio loading with validation, 45-d ViCo features per video frame, and log-mel spectrograms.

Every feature row is computed over a Hann window centred on its video frame: frame i of a clip at `fps` is
centred at time (i + 0.5) / fps, i.e. at the fractional sample position (i + 0.5) * sr / fps (sample n lies at
time n / sr). The continuous window cos^2(pi (t - centre) / width) is sampled at each frame's own sample
offsets, so every window is centred exactly (not rounded to a sample) and is exactly `width` long, at any
sample rate and any frame rate: no truncated samples-per-frame drift as in the reference extractor. The signal
is first cut to the clip duration num_frames / fps (later audio never leaks into the features) and zero padded
at both ends, so the number of rows is always the requested frame count.

ViCo features (`vico_features`, [T, 45], the paper's recipe; columns in `FEATURE_NAMES` order):
  * mfcc_0..13: DCT-II (orthonormal) of the natural log of 40 HTK-mel band power densities (floored at
    1e-14 per Hz), 20 Hz to min(8 kHz, sr/2), of a Hann window of max(2 / fps, 25 ms) (66.7 ms at 30 fps,
    80 ms at 25 fps).
  * d_mfcc_0..13, dd_mfcc_0..13: regression deltas across video frames (width 5, edge frames replicated), the
    second order being the delta of the delta.
  * energy: natural log of the window's mean square, sum((w x)^2) / sum(w^2), floored at 1e-10.
  * zcr: zero crossings per second, each crossing weighted by the Hann window (independent of sr); samples
    with |x| <= 1e-10 count as positive, so digital silence (+-0.0) has no crossings.
  * loudness: A-weighted level in dB full scale, 10 log10 of the A-weighted mean square (a full-scale 1 kHz
    sine gives about -3 dB), floored at -100 dB. A-weighting (IEC 61672) was chosen over plain RMS because it
    follows perceived loudness and so differs from `energy`.

Band powers are power spectral densities per Hz, |X_k|^2 / (sr sum(w^2)), averaged within each mel band
(filters normalised to unit sum), so they do not depend on the sample rate, window length or FFT size: the
same speech at 16 and 44.1 kHz gives nearly the same features.

Log-mel (`log_mel`, [2T, n_mels]): 2 rows per video frame, centred at (i + 0.25) / fps and (i + 0.75) / fps,
Hann window of 1 / fps clipped to [25, 40] ms, HTK-mel bands from 0 Hz to min(8 kHz, sr/2), natural log of the
band power density floored at 1e-14 per Hz (silence gives log(1e-14) = -32.2).

All computation is vectorised NumPy (float64 internally, float32 out), with no loop over frames: a 30 s clip at
44.1 kHz takes about 0.1 s for each of `vico_features` and `log_mel` on one CPU core.
"""
from __future__ import annotations

import functools
import os
import struct

from absl import logging
import numpy as np
import soundfile


class AudioError(ValueError):
  """A wav file or sample array that cannot be turned into features."""


VICO_AUDIO_DIM = 45
MEL_BINS = 80
NUM_MFCC = 14
FEATURE_NAMES: tuple[str, ...] = (
    tuple(f"mfcc_{i}" for i in range(NUM_MFCC))
    + tuple(f"d_mfcc_{i}" for i in range(NUM_MFCC))
    + tuple(f"dd_mfcc_{i}" for i in range(NUM_MFCC))
    + ("energy", "zcr", "loudness")
)
assert len(FEATURE_NAMES) == VICO_AUDIO_DIM

# Framing and spectral settings.
_MIN_WINDOW_S = 0.025  # shortest analysis window
_MEL_MAX_WINDOW_S = 0.040  # longest log-mel window
_MFCC_MEL_BANDS = 40
_MFCC_FMIN_HZ = 20.0
_FMAX_HZ = 8000.0
_DELTA_WIDTH = 5
_POWER_FLOOR = 1e-10  # floor of mean squares before a log (-100 dB full scale)
_ZERO_THRESHOLD = 1e-10  # |x| at or below this is zero for the zero-crossing rate
_DENSITY_FLOOR = 1e-14  # floor of band power densities per Hz (-140 dB/Hz, about 16-bit quantisation noise)


# ---------------------------------------------------------------------------------------------------------
# Loading


def load_wav(path, *, expected_sr: int | None = None) -> tuple[np.ndarray, int]:
  """Reads an audio file (normally a wav) as mono float32 samples.

  Multichannel files are averaged to mono (logged at info level). Any format soundfile reads is accepted; wav
  files are additionally checked against truncation (data chunk shorter than its header says), which
  libsndfile would otherwise read silently.

  Args:
    path: the file.
    expected_sr: if given, the sample rate the file must have.

  Returns:
    (samples [num_samples] float32 in [-1, 1] for PCM files, sample rate in Hz).

  Raises:
    FileNotFoundError: the file does not exist.
    AudioError: unreadable, truncated, not audio, zero samples, NaN/inf samples, or a sample rate other than
      `expected_sr`.
  """
  path = os.fspath(path)
  if not os.path.exists(path):
    raise FileNotFoundError(f"{path}: audio file not found")
  if os.path.isdir(path):
    raise AudioError(f"{path}: is a directory, not an audio file")
  try:
    _check_riff_not_truncated(path)
    data, sr = soundfile.read(path, dtype="float32", always_2d=True)
  except (soundfile.SoundFileError, RuntimeError, TypeError, OSError) as e:
    raise AudioError(f"{path}: unreadable audio file ({e})") from e
  num_samples, num_channels = data.shape
  if num_samples == 0:
    raise AudioError(f"{path}: audio file holds zero samples")
  if expected_sr is not None and sr != expected_sr:
    raise AudioError(f"{path}: sample rate {sr} Hz, expected {expected_sr} Hz")
  if num_channels > 1:
    logging.info("%s: averaging %d channels to mono", path, num_channels)
    samples = data.mean(axis=1, dtype=np.float32)
  else:
    samples = data[:, 0]
  bad = ~np.isfinite(samples)
  if bad.any():
    first = int(np.argmax(bad))
    raise AudioError(
        f"{path}: {int(bad.sum())} NaN/inf samples (first at sample {first}, {first / sr:.3f} s)"
    )
  return np.ascontiguousarray(samples, dtype=np.float32), int(sr)


def _check_riff_not_truncated(path: str) -> None:
  """Raises AudioError if a RIFF/WAVE file's data chunk is shorter than its header declares."""
  file_size = os.path.getsize(path)
  with open(path, "rb") as f:
    head = f.read(12)
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
      return  # not a plain RIFF wav (RF64, other formats, garbage): soundfile decides
    offset = 12
    while offset + 8 <= file_size:
      f.seek(offset)
      chunk_id, chunk_size = struct.unpack("<4sI", f.read(8))
      if chunk_id == b"data":
        available = file_size - offset - 8
        # 0 and 0xFFFFFFFF are placeholders left by streaming writers: nothing to check against.
        if chunk_size not in (0, 0xFFFFFFFF) and chunk_size > available:
          raise AudioError(
              f"{path}: truncated wav: the header declares {chunk_size} data bytes but the file holds "
              f"only {available}"
          )
        return
      offset += 8 + chunk_size + (chunk_size & 1)
    if offset > file_size:
      raise AudioError(
          f"{path}: truncated wav: chunk {chunk_id!r} runs past the end of the file and no data chunk follows"
      )


def wav_num_frames(num_samples: int, sr: int, fps: float) -> float:
  """Duration of `num_samples` samples at `sr` Hz, in video frames at `fps` (not rounded)."""
  return float(num_samples) * float(fps) / float(sr)


# ---------------------------------------------------------------------------------------------------------
# Features


def vico_features(samples, sr: int, fps: float, num_frames: int) -> np.ndarray:
  """The ViCo paper's 45-d audio features, one row per video frame.

  See the module docstring for the exact recipe. Audio shorter than num_frames / fps is zero padded, longer
  audio is cut: checking that the durations agree is the caller's job (see `wav_num_frames`).

  Args:
    samples: [num_samples] float mono audio, nominally in [-1, 1].
    sr: sample rate in Hz.
    fps: video frame rate (need not divide sr).
    num_frames: number of video frames T.

  Returns:
    [T, 45] float32, columns in `FEATURE_NAMES` order. Finite for any finite input, silence included.
  """
  x = _check_samples(samples, sr, fps, num_frames)
  sr, fps, num_frames = int(sr), float(fps), int(num_frames)
  window_s = max(2.0 / fps, _MIN_WINDOW_S)
  centres = (np.arange(num_frames) + 0.5) * (sr / fps)
  frames, window = _hann_frames(x, centres, window_s * sr, _clip_len(num_frames, sr, fps))  # [T, L] each
  n_fft = _next_pow2(frames.shape[1])
  windowed = frames * window
  w2_sum = np.sum(window**2, axis=1)  # [T]
  psd = _power_density(windowed, sr, n_fft, w2_sum)  # [T, n_fft/2+1] per Hz

  fmax = min(_FMAX_HZ, sr / 2.0)
  mel = psd @ _mel_filterbank(sr, n_fft, _MFCC_MEL_BANDS, _MFCC_FMIN_HZ, fmax).T
  mfcc = np.log(np.maximum(mel, _DENSITY_FLOOR)) @ _dct_matrix(_MFCC_MEL_BANDS, NUM_MFCC)  # [T, 14]
  d_mfcc = _deltas(mfcc, _DELTA_WIDTH)
  dd_mfcc = _deltas(d_mfcc, _DELTA_WIDTH)

  mean_square = np.sum(windowed**2, axis=1) / w2_sum
  energy = np.log(np.maximum(mean_square, _POWER_FLOOR))
  a_gain = _a_weighting_gain(np.fft.rfftfreq(n_fft, 1.0 / sr))
  a_mean_square = psd @ (a_gain * _one_sided_weights(n_fft)) * (sr / n_fft)  # Parseval
  loudness = 10.0 * np.log10(np.maximum(a_mean_square, _POWER_FLOOR))

  negative = frames < -_ZERO_THRESHOLD  # near-zeros (and -0.0) count as positive, so silence never crosses
  crossings = negative[:, 1:] != negative[:, :-1]  # [T, L-1], a crossing between samples j and j+1
  mid_window = 0.5 * (window[:, 1:] + window[:, :-1])
  zcr = np.sum(crossings * mid_window, axis=1) / np.sum(mid_window, axis=1) * sr  # crossings per second

  out = np.concatenate([mfcc, d_mfcc, dd_mfcc, energy[:, None], zcr[:, None], loudness[:, None]], axis=1)
  return out.astype(np.float32)


def log_mel(samples, sr: int, fps: float, num_frames: int, n_mels: int = MEL_BINS) -> np.ndarray:
  """Log-mel spectrogram at exactly 2 rows per video frame.

  Row 2i + j is centred at (i + 0.25 + 0.5 j) / fps. Audio shorter/longer than num_frames / fps is zero
  padded/cut, as in `vico_features`.

  Args:
    samples: [num_samples] float mono audio, nominally in [-1, 1].
    sr: sample rate in Hz.
    fps: video frame rate.
    num_frames: number of video frames T.
    n_mels: number of mel bands.

  Returns:
    [2T, n_mels] float32 natural-log band power densities per Hz (floored at log(1e-14)).
  """
  x = _check_samples(samples, sr, fps, num_frames)
  sr, fps, num_frames = int(sr), float(fps), int(num_frames)
  if int(n_mels) != n_mels or n_mels < 1:
    raise AudioError(f"n_mels must be a positive integer, got {n_mels!r}")
  win_s = min(max(1.0 / fps, _MIN_WINDOW_S), _MEL_MAX_WINDOW_S)
  centres = (np.arange(2 * num_frames) + 0.5) * (sr / (2.0 * fps))
  frames, window = _hann_frames(x, centres, win_s * sr, _clip_len(num_frames, sr, fps))
  n_fft = _next_pow2(frames.shape[1])
  psd = _power_density(frames * window, sr, n_fft, np.sum(window**2, axis=1))
  mel = psd @ _mel_filterbank(sr, n_fft, int(n_mels), 0.0, min(_FMAX_HZ, sr / 2.0)).T
  return np.log(np.maximum(mel, _DENSITY_FLOOR)).astype(np.float32)


# ---------------------------------------------------------------------------------------------------------
# Helpers


def _check_samples(samples, sr, fps, num_frames) -> np.ndarray:
  """Validates the arguments shared by the feature functions; returns float64 samples."""
  x = np.asarray(samples)
  if x.ndim != 1:
    raise AudioError(f"expected mono samples of shape [num_samples], got shape {x.shape}")
  if not np.issubdtype(x.dtype, np.floating):
    raise AudioError(f"expected float samples in [-1, 1], got dtype {x.dtype}")
  if int(sr) != sr or sr <= 0:
    raise AudioError(f"sample rate must be a positive integer, got {sr!r}")
  if not np.isfinite(fps) or fps <= 0:
    raise AudioError(f"fps must be positive and finite, got {fps!r}")
  if int(num_frames) != num_frames or num_frames < 0:
    raise AudioError(f"num_frames must be a non-negative integer, got {num_frames!r}")
  x = x.astype(np.float64)
  if not np.isfinite(x).all():
    raise AudioError(f"{int((~np.isfinite(x)).sum())} NaN/inf samples")
  return x


def _clip_len(num_frames: int, sr: int, fps: float) -> int:
  """Number of samples n with n / sr < num_frames / fps (the clip's own audio)."""
  return int(np.ceil(num_frames * sr / fps - 1e-9))


def _hann_frames(
    x: np.ndarray, centres: np.ndarray, width: float, clip_len: int
) -> tuple[np.ndarray, np.ndarray]:
  """Frames of the signal under Hann windows placed at fractional sample positions.

  Frame f holds the samples n with |n - centres[f]| < width / 2, weighted by the continuous Hann window
  cos^2(pi (n - centres[f]) / width) sampled at those n: the window is centred on the exact (sub-sample)
  position and is exactly `width` samples wide, at any sample rate and frame rate. Samples outside
  [0, clip_len) are zeros.

  Args:
    x: [num_samples] float64; cut or zero padded to `clip_len`.
    centres: [F] window centres in samples (need not be integers).
    width: window width in samples (need not be an integer).
    clip_len: the clip's length in samples.

  Returns:
    (frames [F, L], window [F, L]) float64, L = ceil(width); frames[f, j] is sample starts[f] + j.
  """
  num = int(np.ceil(width))
  starts = np.floor(centres - width / 2.0).astype(np.int64) + 1  # first sample strictly inside
  if starts.size == 0:
    return np.zeros((0, num)), np.zeros((0, num))
  pad_left = max(0, -int(starts.min()))
  padded = np.zeros(max(clip_len, int(starts.max()) + num) + pad_left)
  kept = x[:clip_len]
  padded[pad_left : pad_left + kept.size] = kept
  frames = np.lib.stride_tricks.sliding_window_view(padded, num)[starts + pad_left]  # a copy
  offsets = (starts - centres)[:, None] + np.arange(num)[None, :]  # [F, L] sample minus centre
  window = np.where(np.abs(offsets) < width / 2.0, np.cos(np.pi * offsets / width) ** 2, 0.0)
  return frames, window


def _next_pow2(n: int) -> int:
  return 1 << int(np.ceil(np.log2(max(n, 2))))


def _one_sided_weights(n_fft: int) -> np.ndarray:
  """Weights turning a one-sided |X_k|^2 sum into the full-spectrum sum (Parseval)."""
  w = np.full(n_fft // 2 + 1, 2.0)
  w[0] = w[-1] = 1.0
  return w


def _power_density(windowed: np.ndarray, sr: int, n_fft: int, w2_sum: np.ndarray) -> np.ndarray:
  """Power spectral density |rfft|^2 / (sr sum(w^2)) per Hz: [F, L] windowed frames -> [F, n_fft/2+1].

  Averaged over a band, it is independent of the sample rate, window length and FFT size (the same sound
  gives the same value); sum_k one_sided_weight_k * P_k * sr / n_fft is the window-weighted mean square.
  """
  spec = np.fft.rfft(windowed, n=n_fft, axis=1)
  return (spec.real**2 + spec.imag**2) / (sr * w2_sum[:, None])


def _hz_to_mel(f):
  return 2595.0 * np.log10(1.0 + np.asarray(f, dtype=np.float64) / 700.0)


def _mel_to_hz(m):
  return 700.0 * (10.0 ** (np.asarray(m, dtype=np.float64) / 2595.0) - 1.0)


@functools.lru_cache(maxsize=32)
def _mel_filterbank(sr: int, n_fft: int, n_mels: int, fmin: float, fmax: float) -> np.ndarray:
  """Triangular HTK-mel filters [n_mels, n_fft/2+1], each normalised to unit sum (a band average).

  A band too narrow to contain any FFT bin takes its nearest bin, so no band is ever empty.
  """
  freqs = np.fft.rfftfreq(n_fft, 1.0 / sr)
  edges = _mel_to_hz(np.linspace(_hz_to_mel(fmin), _hz_to_mel(fmax), n_mels + 2))
  lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
  rising = (freqs[None, :] - lower) / (centre - lower)
  falling = (upper - freqs[None, :]) / (upper - centre)
  weights = np.maximum(0.0, np.minimum(rising, falling))
  empty = weights.sum(axis=1) <= 0.0
  if empty.any():
    nearest = np.abs(freqs[None, :] - edges[1:-1][empty, None]).argmin(axis=1)
    weights[np.flatnonzero(empty), nearest] = 1.0
  weights /= weights.sum(axis=1, keepdims=True)
  weights.flags.writeable = False
  return weights


@functools.lru_cache(maxsize=8)
def _dct_matrix(n_in: int, n_out: int) -> np.ndarray:
  """Orthonormal DCT-II as a [n_in, n_out] matrix (x @ M keeps the first n_out coefficients)."""
  n = np.arange(n_in)[:, None]
  k = np.arange(n_out)[None, :]
  m = np.cos(np.pi * (n + 0.5) * k / n_in) * np.sqrt(2.0 / n_in)
  m[:, 0] /= np.sqrt(2.0)
  m.flags.writeable = False
  return m


def _a_weighting_gain(freqs: np.ndarray) -> np.ndarray:
  """IEC 61672 A-weighting as a power gain (1.0 at 1 kHz, 0 at DC)."""
  f2 = np.asarray(freqs, dtype=np.float64) ** 2
  c1, c2, c3, c4 = 20.598997**2, 107.65265**2, 737.86223**2, 12194.217**2
  amplitude = c4 * f2**2 / ((f2 + c1) * np.sqrt((f2 + c2) * (f2 + c3)) * (f2 + c4))
  return (amplitude * 10.0 ** (2.0 / 20.0)) ** 2  # +2.0 dB normalises 1 kHz to unity


def _deltas(x: np.ndarray, width: int) -> np.ndarray:
  """Regression deltas along axis 0 with replicated edge frames: [T, D] -> [T, D].

  d_t = sum_{n=1..N} n (x_{t+n} - x_{t-n}) / (2 sum_{n=1..N} n^2), N = width // 2.
  """
  half = width // 2
  if x.shape[0] == 0:
    return np.zeros_like(x)
  padded = np.pad(x, ((half, half), (0, 0)), mode="edge")
  t = x.shape[0]
  out = np.zeros_like(x)
  for n in range(1, half + 1):  # loop over the (2) regression taps, not over frames
    out += n * (padded[half + n : half + n + t] - padded[half - n : half - n + t])
  return out / (2.0 * sum(n * n for n in range(1, half + 1)))
