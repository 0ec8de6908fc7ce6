"""Readers of the raw ViCo and REACT files, with validation.

Every reader returns float32 NumPy arrays and raises `DataError` (a `ValueError`) whose message names the clip,
the file and the problem; a file that should exist but does not raises `MissingFileError` (also a
`FileNotFoundError`). Nothing is trimmed, padded or repaired silently: frame counts that disagree, NaN/inf
values, wrong widths and empty clips are errors.

Formats read here:
  * ViCo `recons/{uuid}.{speaker,listener}.mat`: `coeff [T, 257]` + `transform_params [T, 5]` (Deep3DFaceRecon).
  * ViCo `features/audio_feats/{uuid}.npy` [T, 45] and `features/video_feats/{uuid}.{role}.bin`: `torch.save`
    pickles of {'angle.exp.trans': [T, 73], 'id.gamma.tex': [T, 187]} numpy arrays, read without torch.
  * ViCo split csvs (`video_id, uuid, speaker_id, listener_id[, attitude][, split]`).
  * REACT `{split}.csv` (`,speaker_path,listener_path`), `3D_FV_files/*.npy` [T, 58], `Emotion/*.csv`
    (header + T x 25), `neighbour_emotion_{split}.npy` [2M, 2M].
  * wav files through `listen_jax.audio.load_wav`.

Modules: `checks` (errors, widths, shared checks), `audio` (wav, ViCo audio features), `vico_motion` (.mat and
feature .bin files), `vico_csv` (split csvs), `react` (REACT csvs, 3DMM, emotion, neighbours). Every public name
is importable from here (`listen_jax.data.raw.<reader>`).
"""
from listen_jax.data.raw.checks import BFM_WIDTH
from listen_jax.data.raw.checks import DataError
from listen_jax.data.raw.checks import EMOTION_WIDTH
from listen_jax.data.raw.checks import FACEVERSE_WIDTH
from listen_jax.data.raw.checks import MissingFileError
from listen_jax.data.raw.checks import TRANSFORM_WIDTH
from listen_jax.data.raw.checks import VICO_AUDIO_WIDTH
from listen_jax.data.raw.checks import VICO_DYNAMIC_WIDTH
from listen_jax.data.raw.checks import VICO_STATIC_WIDTH
from listen_jax.data.raw.checks import check_frames
from listen_jax.data.raw.checks import check_same_length
from listen_jax.data.raw.checks import require_file
from listen_jax.data.raw.audio import check_audio_duration
from listen_jax.data.raw.audio import read_audio_feats
from listen_jax.data.raw.audio import read_wav
from listen_jax.data.raw.vico_motion import VicoMotion
from listen_jax.data.raw.vico_motion import read_bfm_mat
from listen_jax.data.raw.vico_motion import read_torch_pickle
from listen_jax.data.raw.vico_motion import read_vico_feature_bin
from listen_jax.data.raw.vico_motion import read_vico_recon
from listen_jax.data.raw.vico_csv import ATTITUDES
from listen_jax.data.raw.vico_csv import DEFAULT_ATTITUDE
from listen_jax.data.raw.vico_csv import VICO_CSV_COLUMNS
from listen_jax.data.raw.vico_csv import VICO_SPLIT_ALIASES
from listen_jax.data.raw.vico_csv import VicoRow
from listen_jax.data.raw.vico_csv import find_vico_splits
from listen_jax.data.raw.vico_csv import read_vico_csv
from listen_jax.data.raw.react import read_neighbours
from listen_jax.data.raw.react import read_react_3dmm
from listen_jax.data.raw.react import read_react_csv
from listen_jax.data.raw.react import read_react_emotion
