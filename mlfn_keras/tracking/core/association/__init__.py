"""Cross-camera association at the level of tracklets, reusable on its own.

* :mod:`.tracklets`: the one ``Tracklet`` type (per-camera track segments,
  their embeddings; ``mlfn-adapt``'s mined crops too) and the one cannot-link
  rule (one camera, seen on a common frame → different people);
* :mod:`.calibration`: the linking threshold measured on unlabelled footage,
  ``calibrate(method="quantile" | "balanced_error")``;
* :mod:`.clustering`: clustering with cannot-link constraints (mutual
  nearest neighbours by default, or average linkage), for the final ids of a
  recorded run and ``mlfn-adapt``'s pseudo-identities (``cluster_tracklets``);
* :mod:`.overlap`: cameras whose views overlap, found in the footage without
  calibration (a mapping must explain who both cameras see, so one view
  recorded twice on one clock is not taken for an overlap), and the people
  both see at one place at one time;
* :mod:`.online`: the live counterpart: periodic recalibration and revision
  (live ids follow the grouping of the recent tracklets: two ids found to be
  one person are merged, the part of an id found to be someone else is
  split off), on stricter thresholds than the final answer; a revision can
  be made a part at a time (``OnlineReviser.start`` / ``step``: the overlap
  search one camera pair at a time, ``OverlapSearch``) so a central with
  many cameras spreads it over several ticks.
"""

from mlfn_keras.tracking.core.association.calibration import (
    Calibration,
    calibrate,
    pair_similarities,
)
from mlfn_keras.tracking.core.association.clustering import (
    cluster_features,
    cluster_tracklets,
)
from mlfn_keras.tracking.core.association.overlap import (
    OverlapEvidence,
    OverlapSearch,
    ViewOverlap,
    find_overlaps,
    overlap_links,
)
from mlfn_keras.tracking.core.association.tracklets import (
    Tracklet,
    TrackletStore,
    cannot_link,
    far_apart,
)

__all__ = [
    "Calibration",
    "OverlapEvidence",
    "OverlapSearch",
    "Tracklet",
    "TrackletStore",
    "ViewOverlap",
    "calibrate",
    "cannot_link",
    "far_apart",
    "find_overlaps",
    "overlap_links",
    "cluster_features",
    "cluster_tracklets",
    "pair_similarities",
]
