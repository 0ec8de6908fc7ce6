"""ReactFace (arXiv 2305.15748): online, causal transformer VAE for listener reactions.

The architecture is described in `model.py`. The public names are importable from here
(`from listen_jax.models.reactface import ReactFace`).
"""
from listen_jax.models.reactface.model import EMOTION_SOURCES
from listen_jax.models.reactface.model import EmotionReadout
from listen_jax.models.reactface.model import ReactFace
from listen_jax.models.reactface.model import ReactionWindow
from listen_jax.models.reactface.model import SpeakerEncoder
from listen_jax.models.reactface.model import check_speaker_inputs
from listen_jax.models.reactface.model import count_params
from listen_jax.models.reactface.model import emotion_activation
from listen_jax.models.reactface.model import init_speaker_cache
from listen_jax.models.reactface.model import interpolation_weights
from listen_jax.models.reactface.model import sinusoid_table

__all__ = ["EMOTION_SOURCES", "EmotionReadout", "ReactFace", "ReactionWindow", "SpeakerEncoder",
           "check_speaker_inputs", "count_params", "emotion_activation", "init_speaker_cache",
           "interpolation_weights", "sinusoid_table"]
