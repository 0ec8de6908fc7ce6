"""Tests for listen_jax.audio: wav loading/validation, 45-d ViCo features, log-mel."""
import logging
import time

import numpy as np
import pytest
import soundfile

from listen_jax import audio

RATES = [(16000, 30), (44100, 30), (22050, 25), (44100, 25)]


def speech_like(sr: int, duration_s: float = 3.0, seed: int = 0, noise: float = 0.003,
                fricatives: bool = True) -> np.ndarray:
  """Synthetic speech: voiced harmonic syllables with pitch glides and moving formants, fricatives, pauses.

  The voiced part is a function of continuous time, so the same utterance can be rendered at any rate (the
  noise and the white-noise fricatives cannot).
  """
  t = np.arange(int(round(duration_s * sr))) / sr
  # Syllables of 180 ms every 300 ms, with a longer pause every fourth slot.
  syll_len, period = 0.18, 0.30
  slot = np.floor(t / period)
  phase_in_syll = (t - slot * period) / syll_len
  voiced = (phase_in_syll < 1.0) & (slot % 4 != 3)
  envelope = np.where(voiced, np.sin(np.pi * np.clip(phase_in_syll, 0.0, 1.0)) ** 2, 0.0)
  # f0 glides 110 -> 220 Hz within the clip and up/down within each syllable.
  f0 = 110.0 + 110.0 * t / duration_s + 30.0 * np.sin(2.0 * np.pi * 1.7 * t)
  f0_phase = 2.0 * np.pi * (110.0 * t + 55.0 * t**2 / duration_s) - 30.0 / 1.7 * np.cos(2.0 * np.pi * 1.7 * t)
  formant1 = 500.0 + 300.0 * np.sin(2.0 * np.pi * 0.9 * t)  # vowel changes
  formant2 = 1500.0 + 700.0 * np.cos(2.0 * np.pi * 0.6 * t)
  voice = np.zeros_like(t)
  for h in range(1, 30):
    fh = h * f0
    gain = np.exp(-(((fh - formant1) / 150.0) ** 2)) + 0.5 * np.exp(-(((fh - formant2) / 250.0) ** 2)) + 0.02
    voice += np.where(fh < sr / 2 - 200, gain / h**0.5, 0.0) * np.sin(h * f0_phase)
  voice *= envelope / np.max(np.abs(voice) + 1e-9) * 0.8
  rng = np.random.default_rng(seed)
  # Fricatives: high-passed noise bursts (first difference of white noise) right after some syllables.
  fric_slot = (t - slot * period > syll_len) & (t - slot * period < syll_len + 0.06) & (slot % 3 == 1)
  fricative = 0.1 * np.diff(rng.standard_normal(t.size + 1)) * fric_slot * fricatives
  return (0.5 * voice + fricative + noise * rng.standard_normal(t.size)).astype(np.float32)


def tone_burst(sr, fps, num_frames, centre_s, length_s, freq=3000.0, smooth=False):
  """A sine burst with a rectangular (or, if smooth, raised-cosine) envelope."""
  t = np.arange(int(np.ceil(num_frames * sr / fps))) / sr
  offset = (t - centre_s) / (length_s / 2)
  envelope = np.where(np.abs(offset) <= 1, np.cos(0.5 * np.pi * offset) ** 2 if smooth else 1.0, 0.0)
  return (0.5 * np.sin(2 * np.pi * freq * t) * envelope).astype(np.float32)


# ---------------------------------------------------------------------------------------------------------
# Features


def test_feature_names():
  assert audio.VICO_AUDIO_DIM == 45 == len(audio.FEATURE_NAMES) == len(set(audio.FEATURE_NAMES))
  assert audio.FEATURE_NAMES[:2] == ("mfcc_0", "mfcc_1")
  assert audio.FEATURE_NAMES[14] == "d_mfcc_0" and audio.FEATURE_NAMES[28] == "dd_mfcc_0"
  assert audio.FEATURE_NAMES[41] == "dd_mfcc_13"
  assert audio.FEATURE_NAMES[42:] == ("energy", "zcr", "loudness")
  assert audio.MEL_BINS == 80


@pytest.mark.parametrize("sr,fps", RATES)
def test_shapes_and_forced_frame_count(sr, fps):
  x = speech_like(sr, 2.0)
  natural = int(round(audio.wav_num_frames(x.size, sr, fps)))
  assert natural == 2 * fps
  for num_frames in (natural, natural - 7, natural + 11, 1):
    f = audio.vico_features(x, sr, fps, num_frames)
    m = audio.log_mel(x, sr, fps, num_frames)
    assert f.shape == (num_frames, 45) and f.dtype == np.float32
    assert m.shape == (2 * num_frames, 80) and m.dtype == np.float32
    assert np.isfinite(f).all() and np.isfinite(m).all()
  assert audio.vico_features(x, sr, fps, 0).shape == (0, 45)
  assert audio.log_mel(x, sr, fps, 0, n_mels=40).shape == (0, 40)
  assert audio.log_mel(x, sr, fps, 5, n_mels=40).shape == (10, 40)


@pytest.mark.parametrize("sr,fps", RATES)
def test_every_dim_carries_signal_on_speech(sr, fps):
  x = speech_like(sr, 3.0)
  f = audio.vico_features(x, sr, fps, 3 * fps)
  std = f.std(axis=0)
  low = [n for n, s in zip(audio.FEATURE_NAMES, std) if not s > 1e-2]
  assert not low, f"dims without signal: {low}"
  # The deltas are not rounding noise (the reference's are): comparable to the MFCC scale.
  assert np.median(std[14:28]) > 0.1 * np.median(std[:14])
  assert np.median(std[28:42]) > 0.02 * np.median(std[:14])
  assert np.isfinite(audio.log_mel(x, sr, fps, 3 * fps)).all()
  assert audio.log_mel(x, sr, fps, 3 * fps).std(axis=0).min() > 1e-2


def test_deltas_follow_the_mfcc_track():
  sr, fps = 16000, 30
  f = audio.vico_features(speech_like(sr, 4.0), sr, fps, 4 * fps)
  mfcc, d, dd = f[:, :14], f[:, 14:28], f[:, 28:42]
  corr = lambda a, b: np.corrcoef(a, b)[0, 1]
  d_corr = np.array([corr(d[:, j], np.gradient(mfcc[:, j])) for j in range(14)])
  dd_corr = np.array([corr(dd[:, j], np.gradient(d[:, j])) for j in range(14)])
  assert d_corr.min() > 0.6 and np.median(d_corr) > 0.8, d_corr
  assert dd_corr.min() > 0.6 and np.median(dd_corr) > 0.8, dd_corr
  # Width-5 regression on a linear ramp gives exactly the slope (edges replicated, so check the interior).
  ramp = np.arange(20, dtype=np.float64)[:, None] * np.array([[0.5, -2.0]])
  np.testing.assert_allclose(audio._deltas(ramp, 5)[2:-2], np.tile([[0.5, -2.0]], (16, 1)), atol=1e-12)


@pytest.mark.parametrize("sr,fps", RATES + [(16000, 29.97), (48000, 24)])
def test_burst_alignment(sr, fps):
  num_frames = int(20 * fps)  # 20 s: a truncated samples-per-frame scheme would drift by frames
  for k in (3, num_frames // 2, num_frames - 4):
    x = tone_burst(sr, fps, num_frames, (k + 0.5) / fps, 0.5 / fps, smooth=True)
    f = audio.vico_features(x, sr, fps, num_frames)
    energy = f[:, audio.FEATURE_NAMES.index("energy")]
    loudness = f[:, audio.FEATURE_NAMES.index("loudness")]
    assert int(np.argmax(energy)) == k and int(np.argmax(loudness)) == k
    # Centred burst: both neighbours see the same share of it (sub-frame alignment). Smooth envelopes: a
    # rectangular edge under a neighbour's window edge adds phase-dependent power.
    assert abs(energy[k - 1] - energy[k + 1]) < 0.01, (energy[k - 1], energy[k + 1])
    assert energy[k] - energy[k - 1] > 1.0
    # Log-mel: a burst centred on the second half-frame row of frame k peaks there.
    y = tone_burst(sr, fps, num_frames, (k + 0.75) / fps, 0.5 / fps, freq=1000.0, smooth=True)
    total = np.log(np.exp(audio.log_mel(y, sr, fps, num_frames).astype(np.float64)).sum(axis=1))
    assert int(np.argmax(total)) == 2 * k + 1
    assert abs(total[2 * k] - total[2 * k + 2]) < 0.01, (total[2 * k], total[2 * k + 2])
    assert total[2 * k + 1] - total[2 * k] > 1.0


@pytest.mark.parametrize("sr,fps", RATES + [(16000, 29.97)])
def test_windows_are_centred_on_the_video_frame_centres(sr, fps):
  # On a ramp x[n] = n the window-weighted mean of each frame is its window's centroid: it must equal the exact
  # (fractional) centre (i + 0.5) * sr / fps of every frame, however long the clip.
  num_frames = int(600 * fps)  # 10 minutes; check a sample of its frames
  x = np.arange(int(np.ceil(num_frames * sr / fps)), dtype=np.float64)
  centres = (np.r_[0:5, 5:num_frames:97, num_frames - 5 : num_frames] + 0.5) * sr / fps
  for width in (2 * sr / fps, 0.025 * sr, 1000.0):
    frames, window = audio._hann_frames(x, centres, width, x.size)
    centroid = np.sum(frames * window, axis=1) / np.sum(window, axis=1)
    inner = slice(2, -2)  # the edge windows reach into the zero padding
    np.testing.assert_allclose(centroid[inner], centres[inner], atol=1e-6 * sr / fps)
    np.testing.assert_allclose(np.sum(window, axis=1), width / 2, rtol=1e-3)  # full Hann mass, any offset


def test_signed_zero_silence_has_no_crossings():
  x = np.zeros(16000, np.float32)
  x[::2] = -0.0
  assert (audio.vico_features(x, 16000, 30, 30)[:, 43] == 0).all()


def test_audio_beyond_the_clip_is_cut_and_short_audio_zero_padded():
  sr, fps, num_frames = 22050, 25, 40
  x = speech_like(sr, 2.0)
  clip = x[: int(np.ceil(num_frames * sr / fps))]
  np.testing.assert_array_equal(audio.vico_features(x, sr, fps, num_frames),
                                audio.vico_features(clip, sr, fps, num_frames))
  np.testing.assert_array_equal(audio.log_mel(x, sr, fps, num_frames), audio.log_mel(clip, sr, fps, num_frames))
  padded = np.concatenate([x, np.zeros(sr, np.float32)])
  np.testing.assert_array_equal(audio.vico_features(x, sr, fps, 60), audio.vico_features(padded, sr, fps, 60))
  # Frames after the end of the audio are silence.
  silent_row = audio.vico_features(np.zeros(10, np.float32), sr, fps, 1)[0]
  tail = audio.vico_features(x, sr, fps, 60)[-5:]
  np.testing.assert_allclose(tail[:, 42], silent_row[42])


def test_silence_is_finite_and_floored():
  for sr, fps in RATES:
    f = audio.vico_features(np.zeros(sr, np.float32), sr, fps, fps)
    m = audio.log_mel(np.zeros(sr, np.float32), sr, fps, fps)
    assert np.isfinite(f).all() and np.isfinite(m).all()
    np.testing.assert_allclose(f[:, 14:42], 0.0)  # constant track -> zero deltas
    np.testing.assert_allclose(f[:, 42], np.log(1e-10), rtol=1e-6)
    np.testing.assert_allclose(f[:, 43], 0.0)
    np.testing.assert_allclose(f[:, 44], -100.0, rtol=1e-6)
    np.testing.assert_allclose(m, np.log(1e-14), rtol=1e-6)


def test_known_values_of_a_sine():
  sr, fps = 44100, 30
  x = np.sin(2 * np.pi * 1000.0 * np.arange(sr) / sr).astype(np.float32)
  row = audio.vico_features(x, sr, fps, 30)[15]
  np.testing.assert_allclose(row[42], np.log(0.5), atol=1e-3)  # mean square of a unit sine
  np.testing.assert_allclose(row[43], 2000.0, rtol=0.02)  # two crossings per period
  np.testing.assert_allclose(row[44], -3.01, atol=0.05)  # A-weighting is 0 dB at 1 kHz
  low = np.sin(2 * np.pi * 100.0 * np.arange(sr) / sr).astype(np.float32)
  row_low = audio.vico_features(low, sr, fps, 30)[15]
  assert abs(row_low[42] - row[42]) < 0.01  # same energy ...
  np.testing.assert_allclose(row_low[44] - row[44], -19.1, atol=0.3)  # ... but A-weighted 19 dB quieter


def test_features_agree_across_sample_rates():
  # The same utterance rendered at 16 and 44.1 kHz gives nearly the same features.
  fps, num_frames = 30, 90
  lo_x, hi_x = (speech_like(sr, 3.0, noise=0.0, fricatives=False) for sr in (16000, 44100))
  lo = audio.vico_features(lo_x, 16000, fps, num_frames)
  hi = audio.vico_features(hi_x, 44100, fps, num_frames)
  voiced = lo[:, 42] > np.log(1e-4)
  assert voiced.mean() > 0.4
  np.testing.assert_allclose(lo[voiced, :14], hi[voiced, :14], atol=0.05 * lo[voiced, :14].std())
  np.testing.assert_allclose(lo[voiced, 42], hi[voiced, 42], atol=0.01)  # energy
  zcr_rel = np.abs(lo[voiced, 43] / hi[voiced, 43] - 1)  # 16 kHz sampling misses some crossings near 7 kHz
  assert np.median(zcr_rel) < 0.01 and zcr_rel.max() < 0.1, zcr_rel
  np.testing.assert_allclose(lo[voiced, 44], hi[voiced, 44], atol=0.05)  # loudness
  lo_mel, hi_mel = audio.log_mel(lo_x, 16000, fps, num_frames), audio.log_mel(hi_x, 44100, fps, num_frames)
  loud = lo_mel.mean(axis=1) > -20
  assert np.median(np.abs(lo_mel[loud] - hi_mel[loud])) < 0.05


def test_mel_filterbank_matches_librosa_htk():
  librosa = pytest.importorskip("librosa")
  for sr, n_fft, n_mels, fmin, fmax in [(16000, 512, 80, 0.0, 8000.0), (44100, 2048, 40, 20.0, 8000.0)]:
    ours = audio._mel_filterbank(sr, n_fft, n_mels, fmin, fmax)
    ref = librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax, htk=True, norm=None)
    np.testing.assert_allclose(ours, ref / ref.sum(axis=1, keepdims=True), atol=1e-6)
  assert (audio._mel_filterbank(8000, 256, 128, 0.0, 4000.0).sum(axis=1) > 0.99).all()  # no empty band


def test_feature_input_errors():
  x = np.zeros(1000, np.float32)
  with pytest.raises(audio.AudioError, match="mono"):
    audio.vico_features(np.zeros((1000, 2), np.float32), 16000, 30, 2)
  with pytest.raises(audio.AudioError, match="dtype int16"):
    audio.vico_features(np.zeros(1000, np.int16), 16000, 30, 2)
  with pytest.raises(audio.AudioError, match="NaN"):
    audio.log_mel(np.array([0.0, np.nan, 0.0], np.float32), 16000, 30, 2)
  with pytest.raises(audio.AudioError, match="fps"):
    audio.vico_features(x, 16000, 0.0, 2)
  with pytest.raises(audio.AudioError, match="num_frames"):
    audio.vico_features(x, 16000, 30, -1)
  with pytest.raises(audio.AudioError, match="sample rate"):
    audio.log_mel(x, 0, 30, 2)


def test_wav_num_frames():
  assert audio.wav_num_frames(16000 * 3, 16000, 30) == 90.0
  assert audio.wav_num_frames(44100, 44100, 29.97) == pytest.approx(29.97)
  assert audio.wav_num_frames(1000, 16000, 30) == pytest.approx(1.875)


def test_cost_of_a_30s_clip():
  sr, fps = 44100, 30
  x = np.tile(speech_like(sr, 3.0), 10)
  start = time.perf_counter()
  f = audio.vico_features(x, sr, fps, 900)
  m = audio.log_mel(x, sr, fps, 900)
  elapsed = time.perf_counter() - start
  assert f.shape == (900, 45) and m.shape == (1800, 80)
  assert elapsed < 5.0, elapsed  # ~0.1 s unloaded; loose bound for a shared machine


# ---------------------------------------------------------------------------------------------------------
# Loading


def _write(path, data, sr=16000, subtype="PCM_16"):
  soundfile.write(str(path), data, sr, subtype=subtype)
  return path


def test_load_wav_roundtrip(tmp_path):
  x = speech_like(16000, 0.5)
  samples, sr = audio.load_wav(_write(tmp_path / "a.wav", x), expected_sr=16000)
  assert sr == 16000 and samples.dtype == np.float32 and samples.shape == x.shape
  np.testing.assert_allclose(samples, x, atol=1 / 32768 + 1e-6)
  assert np.abs(samples).max() <= 1.0


def test_load_wav_averages_stereo(tmp_path, caplog):
  left = np.linspace(-0.5, 0.5, 800, dtype=np.float32)
  right = np.full(800, 0.25, np.float32)
  path = _write(tmp_path / "st.wav", np.stack([left, right], axis=1), subtype="FLOAT")
  with caplog.at_level(logging.INFO):
    samples, _ = audio.load_wav(path)
  np.testing.assert_allclose(samples, 0.5 * (left + right), atol=1e-7)
  assert any("averaging 2 channels" in r.getMessage() for r in caplog.records)


def test_load_wav_missing(tmp_path):
  path = tmp_path / "nope.wav"
  with pytest.raises(FileNotFoundError, match="nope.wav"):
    audio.load_wav(path)


def test_load_wav_garbage(tmp_path):
  path = tmp_path / "garbage.wav"
  path.write_bytes(np.random.default_rng(0).integers(0, 256, 4000, dtype=np.uint8).tobytes())
  with pytest.raises(audio.AudioError, match="garbage.wav.*unreadable"):
    audio.load_wav(path)
  text = tmp_path / "text.wav"
  text.write_text("this is not audio\n")
  with pytest.raises(audio.AudioError, match="text.wav"):
    audio.load_wav(text)


def test_load_wav_truncated(tmp_path):
  full = _write(tmp_path / "full.wav", speech_like(16000, 0.5)).read_bytes()
  data_cut = tmp_path / "data_cut.wav"
  data_cut.write_bytes(full[: len(full) // 2])  # libsndfile alone would read this silently
  with pytest.raises(audio.AudioError, match="data_cut.wav.*truncated.*declares 16000 data bytes"):
    audio.load_wav(data_cut)
  for n in (30, 40, 10):  # header chopped inside the fmt chunk / before the data chunk / inside RIFF header
    head_cut = tmp_path / f"head_cut_{n}.wav"
    head_cut.write_bytes(full[:n])
    with pytest.raises(audio.AudioError, match=f"head_cut_{n}.wav"):
      audio.load_wav(head_cut)


def test_load_wav_empty(tmp_path):
  path = _write(tmp_path / "empty.wav", np.zeros(0, np.float32))
  with pytest.raises(audio.AudioError, match="empty.wav.*zero samples"):
    audio.load_wav(path)


def test_load_wav_nan(tmp_path):
  x = np.zeros(1600, np.float32)
  x[800] = np.nan
  x[900] = np.inf
  path = _write(tmp_path / "nan.wav", x, subtype="FLOAT")
  with pytest.raises(audio.AudioError, match=r"nan.wav: 2 NaN/inf samples \(first at sample 800"):
    audio.load_wav(path)


def test_load_wav_wrong_rate(tmp_path):
  path = _write(tmp_path / "rate.wav", np.zeros(441, np.float32), sr=44100)
  assert audio.load_wav(path, expected_sr=44100)[1] == 44100
  with pytest.raises(audio.AudioError, match="rate.wav.*44100 Hz.*expected 16000 Hz"):
    audio.load_wav(path, expected_sr=16000)
