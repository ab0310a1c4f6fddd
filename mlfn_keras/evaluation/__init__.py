"""Re-id evaluation: features, distances, re-ranking, CMC/mAP/mINP, reports.

Metrics equal torchreid's reference evaluator on the same distance matrix
(Market-1501 and CUHK03 single-shot modes) and run vectorised.

Example:

```python
import keras
import mlfn_keras
from mlfn_keras import evaluation

model = keras.models.load_model("model.keras")
split = evaluation.load_eval_split("synthetic", "/tmp/synth")
result = evaluation.evaluate_model(model, split, protocol="single_query")
print(result.metrics.to_dict())
```

Command line: ``mlfn-eval --help`` (or ``python -m mlfn_keras.evaluation``).
"""

from mlfn_keras.evaluation.distance import l2_normalize, pairwise_distance
from mlfn_keras.evaluation.evaluator import (
    EvaluationResult,
    SplitFeatures,
    compute_distances,
    evaluate_features,
    evaluate_model,
    extract_split_features,
    score_distances,
)
from mlfn_keras.evaluation.features import Features, extract_features, read_image
from mlfn_keras.evaluation.protocols import PROTOCOLS, Protocol, multi_query_features
from mlfn_keras.evaluation.rank import RankMetrics, evaluate_rank
from mlfn_keras.evaluation.report import format_table, write_json
from mlfn_keras.evaluation.rerank import re_ranking
from mlfn_keras.evaluation.splits import DATASETS, EvalSplit, load_eval_split

__all__ = [
    "DATASETS",
    "EvalSplit",
    "EvaluationResult",
    "Features",
    "PROTOCOLS",
    "Protocol",
    "RankMetrics",
    "SplitFeatures",
    "compute_distances",
    "evaluate_features",
    "evaluate_model",
    "evaluate_rank",
    "extract_features",
    "extract_split_features",
    "format_table",
    "l2_normalize",
    "load_eval_split",
    "multi_query_features",
    "pairwise_distance",
    "re_ranking",
    "read_image",
    "score_distances",
    "write_json",
]
