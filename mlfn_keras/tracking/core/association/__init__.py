"""Cross-camera association at the level of tracklets, reusable on its own.

* :mod:`.tracklets`: per-camera track segments, their embeddings and the
  cannot-link rule (one camera, same time → different people);
* :mod:`.calibration`: the linking threshold measured on unlabelled footage;
* :mod:`.clustering`: clustering with cannot-link constraints (mutual
  nearest neighbours by default, or average linkage), for the final ids of a
  recorded run;
* :mod:`.overlap`: cameras whose views overlap, found in the footage without
  calibration, and the people both see at one place at one time;
* :mod:`.online`: the live counterpart: periodic recalibration and revision
  (merging two global ids that later evidence shows are one person).
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
