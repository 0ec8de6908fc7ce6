"""The main job, end to end on synthetic data (called by launch/quickstart.sh).

  1. synthetic raw ViCo data      -> WORKDIR/raw          (python -m launch.make_synthetic)
  2. TFDS build (array_record)    -> WORKDIR/data         (python -m launch.build_datasets)
  3. train the listener LSTM      -> WORKDIR/train        (python -m launch.train, resumes if interrupted)
  4. evaluate FD vs baselines     -> WORKDIR/eval/fd.json, fd.md
  5. generate test predictions    -> WORKDIR/generated
  6. preview render of one clip   -> WORKDIR/preview
Each finished step is skipped on a rerun, so killing and rerunning the job resumes it.
"""
import os
import shutil
import subprocess
import sys
import time

from absl import app, flags

FLAGS = flags.FLAGS
flags.DEFINE_string("workdir", "runs/quickstart", "Output directory.")
flags.DEFINE_integer("num_clips", 160, "Synthetic clips.")
flags.DEFINE_integer("seed", 0, "Seed for data and training.")
flags.DEFINE_string("config", "configs/vico_lstm.py:quick", "Training config.")


def _run(title: str, args: list[str]) -> None:
  print(f"\n=== {title} ===\n$ {' '.join(args)}", flush=True)
  t0 = time.time()
  subprocess.run([sys.executable, "-m", *args], check=True)
  print(f"--- {title}: done in {time.time() - t0:.1f} s", flush=True)


def main(argv):
  del argv
  w = os.path.abspath(FLAGS.workdir)
  raw, data, train, gen, preview = (os.path.join(w, d) for d in ("raw", "data", "train", "generated", "preview"))
  os.makedirs(w, exist_ok=True)
  t0 = time.time()
  if not os.path.exists(os.path.join(raw, ".complete")):
    shutil.rmtree(raw, ignore_errors=True)
    _run("1/6 synthetic data", ["launch.make_synthetic", "--format=vico", f"--out={raw}",
                                f"--num_clips={FLAGS.num_clips}", f"--seed={FLAGS.seed}"])
    open(os.path.join(raw, ".complete"), "w").close()
  if not os.path.exists(os.path.join(data, ".complete")):
    shutil.rmtree(data, ignore_errors=True)
    _run("2/6 build dataset", ["launch.build_datasets", "--dataset=vico", f"--manual_dir={raw}",
                               f"--data_dir={data}"])
    open(os.path.join(data, ".complete"), "w").close()
  _run("3/6 train", ["launch.train", f"--config={FLAGS.config}", f"--workdir={train}",
                     f"--config.data_dir={data}", f"--config.seed={FLAGS.seed}"])
  _run("4/6 evaluate", ["launch.evaluate", f"--workdir={train}", f"--seed={FLAGS.seed}"])
  _run("5/6 generate", ["launch.generate", f"--workdir={train}", "--split=test", f"--out={gen}",
                        f"--raw_dir={raw}"])
  _run("6/6 preview", ["launch.render", "--preview", f"--predictions={gen}", f"--out={preview}", "--max_clips=1"])
  for name in ("eval",):
    src = os.path.join(train, name)
    dst = os.path.join(w, name)
    shutil.rmtree(dst, ignore_errors=True)
    shutil.copytree(src, dst)
  with open(os.path.join(w, "eval", "fd.md"), encoding="utf-8") as f:
    print("\n" + f.read())
  print(f"quickstart finished in {time.time() - t0:.0f} s: {w}/eval/fd.json, {w}/eval/fd.md, {preview}")


if __name__ == "__main__":
  app.run(main)
