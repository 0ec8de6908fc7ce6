"""Prepared datasets -> grain iterators of fixed-shape numpy batches.

A prepared split (TFDS array_record, see WORKSPACE.md) or any in-memory sequence of example dicts is wrapped in
a `ClipSource`. Training draws fixed-length windows from it (`make_train_iterator`: global shuffle per epoch,
per-process sharding, checkpointable grain iterator); evaluation reads whole clips in `index` order
(`iterate_clips`). Every array is z-scored with the split's `norm_stats.npz` (emotion stays raw) and padded
with zeros to a fixed length, with `lengths` giving the valid frames.

Windowing follows the ViCo reference: a clip of N > window frames gives windows at starts 0, stride, ...,
N - min_window (default min_window = window // 3), each covering [s, min(s + window, N)), so at stride 1 there
are N - min_window + 1 windows whose lengths shrink to min_window at the end. A clip with N <= window (including
one shorter than min_window) gives a single window holding the whole clip.

Batch formats (B = per-process batch, W = window, K = neighbours):
  * `'vico'`: audio [B,W,45], speaker [B,W,73], listener [B,W,73] (row 0 is the reference frame), attitude [B]
    int32, lengths [B] int32, clip_index [B] int32, and audio_mel [B,2W,80] when the dataset has it.
  * `'reaction'`: speaker_audio [B,2W,F], speaker_3dmm / listener_3dmm [B,W,D], neighbour_3dmm [B,K,W,D],
    neighbour_mask [B,K] float32, lengths, clip_index, and speaker_emotion / listener_emotion [B,W,25],
    neighbour_emotion [B,K,W,25] on REACT. On ViCo the only neighbour is the listener itself (K = 1).
    A neighbour whose clip does not cover the window's valid frames is masked out (zero rows, mask 0).
    On ViCo `listener_3dmm` is relative to the window's first frame (the reference), z-scored by the within-clip
    movement scale (`motion_delta`); `track_reference` names the feature to add back.

Modules: `locate` (prepared dataset directories), `normalization` (z-scoring), `source` (`ClipSource`,
`open_split`), `assemble` (batch formats and batch assembly), `windows` (training windows and the train
iterator), `clips` (whole clips). Every public name is importable from here
(`from listen_jax.data import pipeline; pipeline.make_train_iterator(...)`).
"""
from listen_jax.data.pipeline.locate import load_stats
from listen_jax.data.pipeline.locate import resolve_version_dir
from listen_jax.data.pipeline.normalization import denormalize
from listen_jax.data.pipeline.normalization import normalize
from listen_jax.data.pipeline.source import ClipSource
from listen_jax.data.pipeline.source import open_split
from listen_jax.data.pipeline.assemble import DATA_FORMATS
from listen_jax.data.pipeline.assemble import track_group
from listen_jax.data.pipeline.assemble import track_reference
from listen_jax.data.pipeline.windows import count_windows
from listen_jax.data.pipeline.windows import enumerate_windows
from listen_jax.data.pipeline.windows import make_train_iterator
from listen_jax.data.pipeline.clips import iterate_clips
