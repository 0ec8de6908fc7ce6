"""The TFDS build shared by the raw-reader tests (imported by them; not a test module)."""
import tensorflow_datasets as tfds


def _build(builder_cls, manual_dir, tmp_path, config=None):
  builder = builder_cls(data_dir=str(tmp_path / "out"), config=config, file_format="array_record")
  builder.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=str(manual_dir)))
  return builder
