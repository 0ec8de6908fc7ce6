"""ReactFace (arXiv 2305.15748): online, causal transformer VAE for listener reactions.

The architecture is described in `model.py`. Modules: `model` (`ReactFace`: offline call, online `step`),
`speaker` (causal speaker encoder + streaming cache), `window` (one window of the loop: interaction VAE ->
latent -> reaction decoder), `emotion` (emotion head), `layers` (sinusoids, alignment bias, decoder block),
`inputs` (speaker input checks shared with Trans-AE). The public names are importable from here.
"""
from listen_jax.models.reactface.emotion import EMOTION_SOURCES
from listen_jax.models.reactface.emotion import EmotionReadout
from listen_jax.models.reactface.emotion import emotion_activation
from listen_jax.models.reactface.inputs import check_speaker_inputs
from listen_jax.models.reactface.layers import interpolation_weights
from listen_jax.models.reactface.layers import sinusoid_table
from listen_jax.models.reactface.model import ReactFace
from listen_jax.models.reactface.model import count_params
from listen_jax.models.reactface.speaker import SpeakerEncoder
from listen_jax.models.reactface.speaker import init_speaker_cache
from listen_jax.models.reactface.window import ReactionWindow

__all__ = ["EMOTION_SOURCES", "EmotionReadout", "ReactFace", "ReactionWindow", "SpeakerEncoder",
           "check_speaker_inputs", "count_params", "emotion_activation", "init_speaker_cache",
           "interpolation_weights", "sinusoid_table"]
