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

from mlfn_keras._lazy import lazy_exports

# Submodules load on first use: `python -m mlfn_keras.<pkg>.<module>` then
# runs a module that was not imported yet, and light users skip heavy ones.
_EXPORTS: dict[str, str] = {
    "DATASETS": "mlfn_keras.evaluation.splits",
    "EvalSplit": "mlfn_keras.evaluation.splits",
    "EvaluationResult": "mlfn_keras.evaluation.evaluator",
    "Features": "mlfn_keras.evaluation.features",
    "PROTOCOLS": "mlfn_keras.evaluation.protocols",
    "Protocol": "mlfn_keras.evaluation.protocols",
    "RankMetrics": "mlfn_keras.evaluation.rank",
    "SplitFeatures": "mlfn_keras.evaluation.evaluator",
    "compute_distances": "mlfn_keras.evaluation.evaluator",
    "evaluate_features": "mlfn_keras.evaluation.evaluator",
    "evaluate_model": "mlfn_keras.evaluation.evaluator",
    "evaluate_rank": "mlfn_keras.evaluation.rank",
    "extract_features": "mlfn_keras.evaluation.features",
    "extract_split_features": "mlfn_keras.evaluation.evaluator",
    "format_table": "mlfn_keras.evaluation.report",
    "l2_normalize": "mlfn_keras.vectors",
    "load_model": "mlfn_keras.evaluation.models",
    "load_eval_split": "mlfn_keras.evaluation.splits",
    "multi_query_features": "mlfn_keras.evaluation.protocols",
    "pairwise_distance": "mlfn_keras.evaluation.distance",
    "re_ranking": "mlfn_keras.evaluation.rerank",
    "read_image": "mlfn_keras.evaluation.features",
    "score_distances": "mlfn_keras.evaluation.evaluator",
    "write_json": "mlfn_keras.evaluation.report",
}

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
    "load_model",
    "load_eval_split",
    "multi_query_features",
    "pairwise_distance",
    "re_ranking",
    "read_image",
    "score_distances",
    "write_json",
]


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
