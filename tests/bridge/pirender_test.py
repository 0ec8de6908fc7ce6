"""Tests of the PIRender driver against a project-written stand-in with PIRender's input/output contract."""
import os
import textwrap

import jax.numpy as jnp
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from listen_jax import viz  # noqa: E402
from listen_jax.bridge import pirender  # noqa: E402

# A tiny randomly initialised generator with PIRender's call contract: (input_image [B,3,256,256] in [-1,1],
# driving_source [B,73,27]) -> {flow_field [B,2,64,64], warp_image, fake_image [B,3,256,256] in [-1,1]}.
# Its descriptor path shrinks 27 -> 21 -> 15 -> 9 -> 3 like PIRender's mapping net, so windows < 25 fail.
STAND_IN = textwrap.dedent('''
    import torch
    from torch import nn
    import torch.nn.functional as F


    class StandInGenerator(nn.Module):
      def __init__(self, mapping_net, common):
        super().__init__()
        c = mapping_net["descriptor_nc"]
        self.first = nn.Conv1d(mapping_net["coeff_nc"], c, 7)
        self.blocks = nn.ModuleList(nn.Conv1d(c, c, 3, dilation=3) for _ in range(mapping_net["layer"]))
        self.to_flow = nn.Linear(c, 2 * 8 * 8)
        self.to_colour = nn.Linear(c, common["image_nc"])
        self.edit = nn.Conv2d(2 * common["image_nc"], common["image_nc"], 3, padding=1)

      def forward(self, input_image, driving_source, stage=None):
        assert input_image.shape[1:] == (3, 256, 256), input_image.shape
        assert driving_source.shape[1] == 73, driving_source.shape
        x = self.first(driving_source)
        for conv in self.blocks:
          x = conv(F.leaky_relu(x, 0.1)) + x[:, :, 3:-3]
        descriptor = x.mean(-1)  # [B, c]
        b = input_image.shape[0]
        flow = torch.tanh(self.to_flow(descriptor)).view(b, 2, 8, 8)
        flow = F.interpolate(flow, size=(64, 64), mode="bilinear", align_corners=False)
        grid = F.interpolate(flow, size=(256, 256), mode="bilinear", align_corners=False).permute(0, 2, 3, 1)
        base = torch.stack(torch.meshgrid(torch.linspace(-1, 1, 256), torch.linspace(-1, 1, 256),
                                          indexing="xy"), -1).to(grid)
        warp = F.grid_sample(input_image, base + 0.1 * grid, align_corners=False)
        out = {"flow_field": flow, "warp_image": warp}
        if stage != "warp":
          colour = self.to_colour(descriptor)[:, :, None, None]
          out["fake_image"] = torch.tanh(self.edit(torch.cat([input_image, warp], 1)) + colour)
        return out
''')
CONFIG = textwrap.dedent('''
    gen:
      type: generators.face_model::StandInGenerator
      param:
        mapping_net:
          coeff_nc: 73
          descriptor_nc: 16
          layer: 3
        common:
          image_nc: 3
''')


@pytest.fixture(scope="module")
def checkout(tmp_path_factory):
  root = tmp_path_factory.mktemp("pirender_checkout")
  (root / "generators").mkdir()
  (root / "generators" / "__init__.py").write_text("")
  (root / "generators" / "face_model.py").write_text(STAND_IN)
  (root / "config").mkdir()
  (root / "config" / "face.yaml").write_text(CONFIG)
  # A checkpoint saved the way PIRender's trainer does: a dict with net_G_ema (and net_G, DDP-prefixed).
  import importlib.util  # pylint: disable=g-import-not-at-top

  spec = importlib.util.spec_from_file_location("_stand_in", root / "generators" / "face_model.py")
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  torch.manual_seed(0)
  net = module.StandInGenerator({"coeff_nc": 73, "descriptor_nc": 16, "layer": 3}, {"image_nc": 3})
  ckpt = root / "checkpoint.pt"
  torch.save({"net_G_ema": net.state_dict(), "net_G": {f"module.{k}": v for k, v in net.state_dict().items()},
              "current_epoch": 190}, ckpt)
  return root, ckpt


def _coeffs(T, seed=0):
  rng = np.random.default_rng(seed)
  x = np.zeros((T, 73), np.float32)
  x[:, :70] = 0.3 * rng.normal(size=(T, 70))
  x[:, 70:] = (0.94, 127.0, 129.0)
  return x


def _image(seed=0, size=(300, 280)):
  rng = np.random.default_rng(seed)
  return rng.integers(0, 256, size=size + (3,), dtype=np.uint8)


def test_semantic_windows_clamp_both_ends():
  x = np.arange(5 * 2, dtype=np.float32).reshape(5, 2)
  w = pirender.semantic_windows(x)
  assert w.shape == (5, 2, 27)
  np.testing.assert_array_equal(w[0, 0, :14], 0.0)  # frames -13..0 clamp to frame 0
  np.testing.assert_array_equal(w[2, 1, 13], x[2, 1])  # the centre is the frame itself
  np.testing.assert_array_equal(w[4, 0, 13:], x[4, 0])  # frames beyond the end clamp to the last
  np.testing.assert_array_equal(w[1, :, 10:16].T, x[np.clip(np.arange(-2, 4), 0, 4)])
  np.testing.assert_array_equal(pirender.semantic_windows(torch.from_numpy(x)).numpy(), w)


def test_load_render_and_batching(checkout):
  root, ckpt = checkout
  gen = pirender.load_pirender(str(root), str(ckpt))
  assert not gen.training and not any(p.requires_grad for p in gen.parameters())
  T = 11
  coeffs = _coeffs(T)
  image = _image()
  frames = pirender.render_frames(gen, coeffs, image, batch_size=4)
  assert frames.shape == (T, 256, 256, 3) and frames.dtype == np.uint8
  assert frames.std() > 1.0 and np.abs(frames[0].astype(int) - frames[5]).max() > 0  # depends on the frame
  one = pirender.render_frames(gen, coeffs, image, batch_size=1)
  assert np.abs(one.astype(int) - frames).max() <= 1
  # JAX input crosses via dlpack and gives the same frames; the order permutation reaches the generator.
  np.testing.assert_array_equal(pirender.render_frames(gen, jnp.asarray(coeffs), image, batch_size=4), frames)
  # The generator sees PIRender order: feeding the windows by hand reproduces frame 3.
  sem = pirender.semantic_windows(coeffs[:, np.r_[3:67, 0:3, 67:73]])
  src = torch.from_numpy(np.array(pirender.load_source_image(image))).permute(2, 0, 1)[None].float() / 127.5 - 1
  with torch.no_grad():
    fake = gen(src, torch.from_numpy(sem[3:4]))["fake_image"]
  want = ((fake.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)[0].permute(1, 2, 0).numpy()
  assert np.abs(frames[3].astype(int) - want).max() <= 1  # batch 4 vs 1: float rounding only
  # net_G (DDP-prefixed) loads too, after stripping `module.`.
  pirender.load_pirender(str(root), str(ckpt), ema=False)


def test_bad_inputs_raise(checkout, tmp_path):
  root, ckpt = checkout
  gen = pirender.load_pirender(str(root), str(ckpt))
  zscored = _coeffs(5)
  zscored[:, 70:] = 0.1
  with pytest.raises(pirender.PIRenderError, match="z-scored"):
    pirender.render_frames(gen, zscored, _image())
  bad = _coeffs(5)
  bad[2, 4] = np.nan
  with pytest.raises(pirender.PIRenderError, match="NaN"):
    pirender.render_frames(gen, bad, _image())
  with pytest.raises(pirender.PIRenderError, match="73"):
    pirender.render_frames(gen, np.zeros((5, 70), np.float32), _image())
  state = torch.load(ckpt, weights_only=True)["net_G_ema"]
  state.pop(next(iter(state)))
  torch.save({"net_G_ema": state}, tmp_path / "partial.pt")
  with pytest.raises(pirender.PIRenderError, match="does not match"):
    pirender.load_pirender(str(root), str(tmp_path / "partial.pt"))
  torch.save({"net_G": state}, tmp_path / "no_ema.pt")
  with pytest.raises(pirender.PIRenderError, match="net_G_ema"):
    pirender.load_pirender(str(root), str(tmp_path / "no_ema.pt"))
  with pytest.raises(FileNotFoundError):
    pirender.load_pirender(str(tmp_path / "nowhere"), str(ckpt))


def test_render_prediction_dir_writes_video_with_audio_and_speaker(checkout, tmp_path):
  pytest.importorskip("imageio_ffmpeg")
  import soundfile  # pylint: disable=g-import-not-at-top

  root, ckpt = checkout
  gen = pirender.load_pirender(str(root), str(ckpt))
  pred, images, speakers = tmp_path / "pred", tmp_path / "first_frames", tmp_path / "speaker"
  for d in (pred, images, speakers):
    d.mkdir()
  T, fps, sr = 9, 30, 16000
  np.save(pred / "c1.npy", _coeffs(T))
  soundfile.write(pred / "c1.wav", 0.2 * np.sin(np.linspace(0, 3000, sr * T // fps)).astype(np.float32), sr)
  from PIL import Image  # pylint: disable=g-import-not-at-top

  Image.fromarray(_image(1)).save(images / "c1.listener.jpg")
  viz.write_video(str(speakers / "c1.speaker.mp4"), _image(2, (T + 4, 128, 160)), fps)
  written = pirender.render_prediction_dir(str(pred), str(tmp_path / "out"), gen, str(images),
                                           speaker_video_dir=str(speakers), fps=fps, batch_size=4)
  assert written == [os.path.join(str(tmp_path / "out"), "c1.mp4")]
  frames = viz.read_video(written[0])
  assert frames.shape == (T, 256, 256 * 160 // 128 + 256, 3)
  import imageio.v2 as iio  # pylint: disable=g-import-not-at-top

  with iio.get_reader(written[0], format="FFMPEG") as reader:
    assert reader.get_meta_data().get("audio_codec") == "aac"
  with pytest.raises(FileNotFoundError, match="c1"):
    pirender.render_prediction_dir(str(pred), str(tmp_path / "out2"), gen, str(tmp_path))
