"""Weight-free previews of ViCo 3DMM motion: an animated 2-D head glyph and static pose/expression curves.

Inputs are raw (de-normalised) ViCo dynamic coefficients `[T, 73]` = [angle 3 | exp 64 | trans 3 | crop 3]
(`listen_jax.layouts.VICO_DYNAMIC`).

Head glyph (one panel per person, speaker left, listener right, audio envelope strip underneath):
  * Rotation: the head is an ellipsoid with the face drawn on its front surface, rotated by R = Rz·Ry·Rx from
    `angle` = (pitch x, yaw y, roll z) in radians (Deep3DFaceRecon convention: x right, y up, z towards the
    camera), times `pose_gain`, and projected orthographically. Yaw slides the face sideways (the nose sticks
    out, so it turns visibly), pitch nods it, roll tilts it; the silhouette is the exact projected ellipsoid.
  * Translation, relative to the clip's median: `trans` (x, y) through the Deep3DFaceRecon camera (focal 1015,
    camera at z = 10) plus the crop translation (tx, ty) scaled by s (the face moving in the original frame);
    size follows (10 - tz) and s. About 62 px of the 224 crop make one head radius.
  * Expression: BFM expression components have no published semantics, so a few low-order components drive
    display features heuristically (`EXPRESSION_CHANNELS`: mouth opening <- exp[0], smile <- exp[1],
    brow raise <- exp[2], eye closure <- exp[3]). Each is normalised per clip and per person
    (z = (x - mean) / std, then tanh(z / 1.5)), so any clip looks alive whatever its absolute scale; the
    features show relative changes within a clip, not calibrated expressions.

Drawing is PIL on 2x supersampled panels with geometry computed for all frames at once in NumPy: a 10 s,
30 fps two-person clip (300 frames of 640x384) renders in about 2 s of CPU time (~7 ms a frame).

Video files: `.mp4` through imageio's ffmpeg plugin (needs the `imageio-ffmpeg` package; audio is muxed in as
AAC), `.gif` through Pillow (no audio).

Prediction directory format (written by launch/generate.py, read by `load_prediction_clip`):
  `{uuid}.npy` [T, 73] float, predicted listener, raw ViCo order (required; one clip per file);
  `{uuid}.speaker.npy` [T, 73] speaker coefficients (optional); `{uuid}.listener_gt.npy` [T, 73] ground-truth
  listener (optional); `{uuid}.wav` the speaker's audio (optional).

Modules: `tracks` (input checks, pose/expression/audio tracks), `glyph` (head geometry), `frames`
(`render_frames`), `video` (`write_video`, `read_video`), `curves` (`plot_curves`), `preview` (`render_preview`,
prediction directories). Every public name is importable from here (`listen_jax.viz.<fn>`).
"""
from listen_jax.viz.tracks import CAMERA_Z
from listen_jax.viz.tracks import EXPRESSION_CHANNELS
from listen_jax.viz.tracks import FOCAL
from listen_jax.viz.tracks import PX_PER_HEAD
from listen_jax.viz.tracks import PreviewError
from listen_jax.viz.tracks import audio_envelope
from listen_jax.viz.tracks import expression_features
from listen_jax.viz.tracks import fit_length
from listen_jax.viz.tracks import pose_tracks
from listen_jax.viz.tracks import rotation_matrices
from listen_jax.viz.glyph import HEAD_AXES
from listen_jax.viz.frames import PANEL
from listen_jax.viz.frames import STRIP
from listen_jax.viz.frames import render_frames
from listen_jax.viz.video import read_video
from listen_jax.viz.video import write_video
from listen_jax.viz.curves import plot_curves
from listen_jax.viz.preview import list_prediction_clips
from listen_jax.viz.preview import load_prediction_clip
from listen_jax.viz.preview import preview_prediction_dir
from listen_jax.viz.preview import render_preview
from listen_jax.viz.preview import select_prediction_clips
