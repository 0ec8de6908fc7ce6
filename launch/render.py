"""Render predicted listener motion to video.

Photoreal (needs the user's PIRender checkout and weights, CC BY-NC 4.0, not shipped with listen_jax):
  python -m launch.render --predictions=runs/vico_lstm/generate/test --out=runs/vico_lstm/render \
      --pirender_dir=~/PIRender --checkpoint=~/PIRender/result/face/epoch_00190_iteration_000400000_checkpoint.pt \
      --source_image=data/vico/first_frames [--speaker_videos=data/vico/videos] [--device=cuda]

Preview (no weights: head glyphs + pose/expression curves):
  python -m launch.render --preview --predictions=runs/vico_lstm/generate/test --out=runs/preview [--max_clips=5]

Predictions directory (written by launch/generate.py): `{uuid}.npy` [T, 73] raw (de-normalised) ViCo-order
listener coefficients [angle | exp | trans | crop]; optional `{uuid}.wav` (speaker audio, muxed into the
video), `{uuid}.speaker.npy` and `{uuid}.listener_gt.npy` [T, 73] (used by the preview).
`--source_image` is one image for all clips or a directory of `{uuid}.listener.jpg` / `{uuid}.jpg` frames.
Outputs: `{uuid}.mp4` (PIRender) or `{uuid}.preview.{mp4|gif}` + `{uuid}.curves.png` (preview).
"""
import os

from absl import app, flags, logging

FLAGS = flags.FLAGS
flags.DEFINE_string("predictions", None, "Directory of {uuid}.npy predictions (+ optional .wav).", required=True)
flags.DEFINE_string("out", None, "Output directory.", required=True)
flags.DEFINE_bool("preview", False, "Weight-free preview (head glyphs and curves) instead of PIRender.")
flags.DEFINE_string("pirender_dir", None, "Root of the user's PIRender checkout.")
flags.DEFINE_string("checkpoint", None, "PIRender checkpoint (.pt holding net_G_ema).")
flags.DEFINE_string("pirender_config", None, "Generator yaml (default: {pirender_dir}/config/face.yaml).")
flags.DEFINE_string("source_image", None, "Listener reference image, or a directory of {uuid}.listener.jpg.")
flags.DEFINE_string("speaker_videos", None, "Optional directory of {uuid}.speaker.mp4 / {uuid}.mp4 (left side).")
flags.DEFINE_float("fps", 30.0, "Frame rate of the predictions (ViCo: 30).")
flags.DEFINE_integer("batch_size", 16, "Frames per PIRender call.")
flags.DEFINE_string("device", "cpu", "torch device for PIRender ('cpu', 'cuda', ...).")
flags.DEFINE_integer("max_clips", 0, "Render at most this many clips (0: all).")
flags.DEFINE_enum("preview_format", "mp4", ["mp4", "gif"], "Preview video format (gif needs no ffmpeg).")
flags.DEFINE_float("pose_gain", 1.5, "Preview: multiplier on head angles.")


def main(argv):
  del argv
  out = os.path.expanduser(FLAGS.out)
  predictions = os.path.expanduser(FLAGS.predictions)
  if FLAGS.preview:
    from listen_jax import viz  # pylint: disable=g-import-not-at-top

    written = viz.preview_prediction_dir(predictions, out, fps=FLAGS.fps, max_clips=FLAGS.max_clips,
                                         video_format=FLAGS.preview_format, pose_gain=FLAGS.pose_gain)
  else:
    missing = [f"--{n}" for n in ("pirender_dir", "checkpoint", "source_image") if not getattr(FLAGS, n)]
    if missing:
      raise app.UsageError(f"PIRender rendering needs {', '.join(missing)} (or use --preview)")
    from listen_jax.bridge import pirender  # pylint: disable=g-import-not-at-top

    generator = pirender.load_pirender(os.path.expanduser(FLAGS.pirender_dir), os.path.expanduser(FLAGS.checkpoint),
                                       device=FLAGS.device, config_path=FLAGS.pirender_config)
    written = pirender.render_prediction_dir(
        predictions, out, generator, os.path.expanduser(FLAGS.source_image),
        speaker_video_dir=os.path.expanduser(FLAGS.speaker_videos) if FLAGS.speaker_videos else None,
        fps=FLAGS.fps, batch_size=FLAGS.batch_size, device=FLAGS.device, max_clips=FLAGS.max_clips)
  for path in written:
    logging.info("wrote %s", path)
  print(f"wrote {len(written)} files to {out}")


if __name__ == "__main__":
  app.run(main)
