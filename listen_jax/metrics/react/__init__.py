"""REACT 2023/2024 facial-reaction metric suite in JAX.

Metrics (names of the papers; the official code prints FRC, FRD, S-MSE, FRVar, FRDvs, TLCC):

  * FRCorr (`fr_corr`): appropriateness as concordance (CCC) with the best appropriate real reaction.
  * FRDist (`fr_dist`): appropriateness as weighted DTW distance to the closest appropriate real reaction.
  * FRDiv (`fr_div`, S-MSE): diversity among the S samples generated for one speaker.
  * FRVar (`fr_var`): temporal variance of each generated sequence.
  * FRDvs (`fr_dvs`): diversity of the s-th samples across speakers.
  * FRSyn (`fr_syn`, TLCC): |lag| in frames of the peak time-lagged cross-correlation with the speaker.

Shapes: `pred` [N, S, T, D], `listener` and `speaker` [N, T, D], `neighbours` [N, N] 0/1 where
`neighbours[k, j] == 1` means listener j's real reaction is appropriate for speaker k (the REACT
`neighbour_emotion_{split}.npy` matrix). NumPy or JAX arrays in, Python floats out.

Conventions (`convention=`):

  * `'react2023'` (default) reproduces the official REACT 2023/2024 code in meaning:
    - FRCorr: per-dimension CCC `2 r sx sy / (sx^2 + sy^2 + (mx - my)^2 + 1e-8)` with population moments and
      Pearson r set to 0 on constant dimensions (NaN -> 0) and clipped to [-1, 1]; mean over all D dims,
      max over neighbours, SUM over the S samples, mean over items (range [-S, S]).
    - FRDist: DTW(a, b) = sqrt(min over warping paths of the summed squared Euclidean frame distances),
      steps (1,0), (0,1), (1,1), no band. With D == 25 (REACT emotion) the weighted distance is
      dtw(0:15)/15 + dtw(15:17) + dtw(17:25)/8; for any other D (e.g. the 58-d FaceVerse 3DMM) one group
      (0:D) with weight 1. Override with `groups=((start, stop, weight), ...)`. Min over neighbours, SUM over
      samples, mean over items.
    - FRDiv: mean over items of 2 * mean_{t,d} var_s(pred[k, :, t, d]) (unbiased); 0.0 when S == 1.
    - FRVar: mean over (k, s, d) of the unbiased temporal variance.
    - FRDvs: 2 * mean_{s,t,d} var_k(pred[:, s, t, d]) (unbiased); NaN when N < 2 (the official 0/0).
    - FRSyn: sample 0 only. For lags l = -49..49, R(l) = mean over dims of the plain Pearson r between
      pred[t] and speaker[t - l] on the overlap; a dim that is constant on the overlap (in either series)
      makes R(l) NaN. a = NumPy argmax of R (the first NaN if any, else the first maximum); the score is
      |49 - a| frames, mean over items.
  * `'corrected'` differs only in these points:
    - FRCorr and FRDist AVERAGE over the S samples instead of summing (FRCorr in [-1, 1]).
    - FRCorr averages the per-dim CCC over the dims on which the reference (neighbour listener) varies;
      dims where it is constant are excluded (CCC = 0 if it is constant everywhere). A constant prediction
      against a varying reference still scores 0 on that dim.
    - FRSyn uses all S samples (mean over items and samples); at each lag R(l) is the mean over dims that
      are non-constant on the overlap in both series; lags with no such dim are skipped; a pair where every
      lag is skipped (e.g. a constant prediction) scores the maximum, 49.
    - FRDiv, FRVar and FRDvs are unchanged.

Numerics: everything runs in float32. Moments are computed on centred data (two-pass), constant
dimensions are detected exactly (max == min) rather than through a zero variance, so they behave like the
float64 official code. DTW frame costs are computed as exact squared differences (no |a|^2 + |b|^2 - 2ab
expansion), so identical sequences give exactly 0.

DTW implementation (XLA-CPU friendly): the pair axis is the minor, vectorised axis of every operation.
The grid rows of the prediction are cut into strips of R rows (DTW_ROWS); an outer `fori_loop` runs over
strips and an inner one over the columns j of the neighbour. Each inner step computes the exact
per-group costs of the R cells (i0..i0+R-1, j) for all pairs of the chunk in one fused loop (the column
frame is loaded once and reused by the R rows) and then runs the R-long chain
D[i, j] = c[i, j] + min(D[i-1, j], D[i, j-1], D[i-1, j-1]) unrolled, carrying the strip's previous column;
the strip's last row is handed to the next strip through a [T2 + 1, G, B] edge buffer. This replaced an
anti-diagonal scan whose per-step working set (two whole diagonals of inputs) streamed ~50 floats per
cell from outside L2. Only the valid (item, sample, neighbour) triples are evaluated: they are listed on
the host, padded with a validity mask to a whole number of fixed-size chunks (DTW_CHUNK pairs), spread
over the local devices with `shard_map`, and reduced with a masked segment-min per (item, sample).
Different neighbour counts thus cost nothing beyond their own pairs and memory is bounded by the chunk.
The DTW jit is compiled with `xla_cpu_prefer_vector_width=512` (DTW_VECTOR_WIDTH; per-jit compiler option,
no global flag): the exact per-cell cost (~25 loads + 50 flops per cell and pair) dominates, and XLA:CPU
otherwise emits 256-bit code even on AVX-512 hardware. Results are bit-identical for every width.

Modules: `inputs` (conventions, checks, neighbour lists, DTW groups), `dtw` (`fr_dist`), `corr` (`fr_corr`),
`diversity` (`fr_div`, `fr_var`, `fr_dvs`), `sync` (`fr_syn`), `suite` (`compute_all`). Every public name is
importable from here (`listen_jax.metrics.react.<fn>`).
"""
from listen_jax.metrics.react.inputs import CONVENTIONS
from listen_jax.metrics.react.inputs import Groups
from listen_jax.metrics.react.inputs import REACT_EMOTION_GROUPS
from listen_jax.metrics.react.inputs import default_groups
from listen_jax.metrics.react.inputs import neighbour_lists
from listen_jax.metrics.react.dtw import DTW_CHUNK
from listen_jax.metrics.react.dtw import DTW_ROWS
from listen_jax.metrics.react.dtw import DTW_VECTOR_WIDTH
from listen_jax.metrics.react.dtw import dtw_squared
from listen_jax.metrics.react.dtw import fr_dist
from listen_jax.metrics.react.dtw import weighted_dtw
from listen_jax.metrics.react.corr import CCC_EPS
from listen_jax.metrics.react.corr import fr_corr
from listen_jax.metrics.react.diversity import fr_div
from listen_jax.metrics.react.diversity import fr_dvs
from listen_jax.metrics.react.diversity import fr_var
from listen_jax.metrics.react.sync import MAX_LAG
from listen_jax.metrics.react.sync import fr_syn
from listen_jax.metrics.react.suite import compute_all
