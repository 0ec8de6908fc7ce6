"""Synthetic dyadic conversations written in the real raw ViCo and REACT 2023 layouts.

The real corpora cannot be downloaded, so every builder, trainer and metric of listen_jax runs on this
generator. It plants the structure a listener model has to learn:

* Speech: phrases of voiced syllables (harmonic source, f0 100-250 Hz with per-syllable glides and phrase
  declination, vowel formant shaping, consonant noise bursts), stressed syllables louder and higher, pauses
  between phrases, a small noise floor.
* Speaker motion: the mouth channels (jaw, lip rounding) follow the syllable envelope, the brows and the head
  pitch bob on stressed syllables, the head drifts slowly, spontaneous smiles come and go, eyes blink.
* Listener motion depends on the speaker with a lag of about 0.3 s: nods (pitch dips) after stressed syllables
  and at phrase ends, a lagged scaled copy of the speaker's smile, attitude (ViCo) or speaking-style (REACT)
  dependent expression offsets, head shakes (yaw oscillations) at phrase ends for negative listeners, small
  "mm-hm" mouth movements, plus smooth noise of about a quarter of the response amplitude.
* Identities: every person has constant neutral offsets (expression, pose, translation, crop) that are visible
  in frame 0, and a constant id/texture/lighting vector.

Motion is first built in six semantic expression channels (`CHANNELS`) plus head angles, then written into the
expression basis of each layout through a fixed loading matrix (primary component `VICO_EXP_INDEX[name]` /
`FACEVERSE_EXP_INDEX[name]` with weight 1, plus two weaker secondary components).

ViCo layout (`make_vico`, 30 fps), under `out_dir`:
  audios/{uuid}.wav                  speaker voice, mono PCM16, exactly round(T * sr / fps) samples
  recons/{uuid}.{speaker,listener}.mat  `coeff` float32 [T, 257] (Deep3DFaceRecon order),
                                     `transform_params` float32 [T, 5] = [256, 256, s, tx, ty]
  {train,test,ood}.csv               video_id,uuid,speaker_id,listener_id,attitude,split

REACT layout (`make_react`, 25 fps), under `out_dir`:
  {split}.csv                        header `,speaker_path,listener_path`; col 1 Expert/P25, col 2 Novice/P26
  {split}/Audio_files/{path}.wav     that person's own voice (mono PCM16)
  {split}/3D_FV_files/{path}.npy     float32 [T, 58] FaceVerse [exp 52 | rot 3 | trans 3]
  {split}/Emotion/{path}.csv         header row + T rows x 25 (`emotion_from_faceverse` of the .npy)
  neighbour_emotion_{split}.npy      float64 [2M, 2M] 0/1, mirrored order, A[k, j] = 1 iff the speakers of
                                     items k and j share a latent speaking style (listeners react to the style)

Everything is seeded: the same seed gives byte-identical files (the .mat header carries no timestamp).

Modules: `common` (constants, `SyntheticError`), `persons` (reactions, speaking styles, identities),
`speech` (syllables, waveform, frame-rate view), `motion` (speaking/listening behaviour, 3DMM rendering),
`emotion` (REACT emotion from FaceVerse), `writers` (files, argument checks), `vico` (`make_vico`),
`react` (`make_react`), `analysis` (reading clips back, lagged correlation, frame energy). Every public name
is importable from here (`from listen_jax import synthetic; synthetic.make_react(...)`).
"""
from listen_jax.synthetic.common import BLINK
from listen_jax.synthetic.common import BROW
from listen_jax.synthetic.common import CHANNELS
from listen_jax.synthetic.common import DEFAULT_SAMPLE_RATE
from listen_jax.synthetic.common import EMOTION_COLUMNS
from listen_jax.synthetic.common import FACEVERSE_EXP_INDEX
from listen_jax.synthetic.common import FACEVERSE_EXP_SCALE
from listen_jax.synthetic.common import FROWN
from listen_jax.synthetic.common import JAW
from listen_jax.synthetic.common import LIP
from listen_jax.synthetic.common import PITCH
from listen_jax.synthetic.common import REACT_CSV_HEADER
from listen_jax.synthetic.common import REACT_FPS
from listen_jax.synthetic.common import REACT_SPLITS
from listen_jax.synthetic.common import ROLL
from listen_jax.synthetic.common import SMILE
from listen_jax.synthetic.common import SyntheticError
from listen_jax.synthetic.common import VICO_CSV_COLUMNS
from listen_jax.synthetic.common import VICO_EXP_INDEX
from listen_jax.synthetic.common import VICO_FPS
from listen_jax.synthetic.common import VICO_IMAGE_SIZE
from listen_jax.synthetic.common import VICO_SPLITS
from listen_jax.synthetic.common import YAW
from listen_jax.synthetic.common import attitude_names
from listen_jax.synthetic.common import faceverse_channel_index
from listen_jax.synthetic.common import vico_channel_index
from listen_jax.synthetic.persons import ATTITUDE_REACTIONS
from listen_jax.synthetic.persons import Person
from listen_jax.synthetic.persons import Reaction
from listen_jax.synthetic.persons import STYLES
from listen_jax.synthetic.persons import SpeakingStyle
from listen_jax.synthetic.persons import make_person
from listen_jax.synthetic.persons import style
from listen_jax.synthetic.speech import SpeechFrames
from listen_jax.synthetic.speech import Syllables
from listen_jax.synthetic.speech import speech_frames
from listen_jax.synthetic.speech import syllable_schedule
from listen_jax.synthetic.speech import synthesize_speech
from listen_jax.synthetic.motion import Motion
from listen_jax.synthetic.motion import add_blinks
from listen_jax.synthetic.motion import add_listening
from listen_jax.synthetic.motion import add_speaking
from listen_jax.synthetic.motion import render_faceverse
from listen_jax.synthetic.motion import render_vico
from listen_jax.synthetic.emotion import emotion_from_faceverse
from listen_jax.synthetic.writers import write_mat
from listen_jax.synthetic.writers import write_wav
from listen_jax.synthetic.vico import make_vico
from listen_jax.synthetic.vico import vico_clip_frames
from listen_jax.synthetic.react import make_react
from listen_jax.synthetic.react import neighbour_matrix
from listen_jax.synthetic.react import react_person_path
from listen_jax.synthetic.analysis import frame_energy
from listen_jax.synthetic.analysis import lagged_correlation
from listen_jax.synthetic.analysis import read_csv_rows
from listen_jax.synthetic.analysis import read_vico_clip
