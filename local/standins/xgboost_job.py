"""XGBoost 1.7 for the local SageMaker stand-ins (local/standins/trainer.ts, local/standins/transformer.ts).

    python3 xgboost_job.py train   REQUEST.json RESULT.json
    python3 xgboost_job.py predict REQUEST.json RESULT.json

`train` does what the SageMaker built-in XGBoost 1.7-1 algorithm does with a `train` and a `validation` channel of
headerless CSV, label in the first column
(https://docs.aws.amazon.com/sagemaker/latest/dg/xgboost.html,
 https://docs.aws.amazon.com/sagemaker/latest/dg/xgboost_hyperparameters.html):
- validates the HyperParameters strings (required `num_round`; types and ranges of the documented hyperparameters;
  an unknown name is an error, not ignored) before reading any data;
- trains with `xgb.train`, watchlist `train` then `validation`, and XGBoost's EvaluationMonitor (as the container):
  one line per round on stdout, `[i]\ttrain-auc:…\tvalidation-auc:…`, the lines SageMaker's metric regexes read;
- `early_stopping_rounds` stops on the validation set and on the last `eval_metric`, keeping the best model;
- saves the booster with `save_model` as `xgboost-model` (the file the container puts into model.tar.gz).

`predict` loads `xgboost-model` and writes one prediction per row of each headerless feature CSV.

A problem with the request (hyperparameters, data shape) is written to RESULT.json as {"error": "..."} and the exit
code is 1; anything else is a crash (exit code != 0 without a result).
"""

import json
import math
import os
import sys
import time

import xgboost as xgb

MAXIMIZE_METRICS = {"auc", "aucpr", "map", "ndcg"}
MINIMIZE_METRICS = {"error", "logloss", "rmse", "mae", "mape", "rmsle", "mphe", "poisson-nloglik"}
OBJECTIVES = {
    "binary:logistic",
    "binary:logitraw",
    "binary:hinge",
    "reg:squarederror",
    "reg:logistic",
    "reg:pseudohubererror",
    "reg:absoluteerror",
    "count:poisson",
}


class UserError(Exception):
    """A problem with the job's request: reported as the job's FailureReason."""


def interval(lo=None, hi=None, lo_open=False, hi_open=False):
    def check(v):
        if lo is not None and (v < lo or (lo_open and v == lo)):
            return False
        if hi is not None and (v > hi or (hi_open and v == hi)):
            return False
        return True

    text = "{}{}, {}{}".format("(" if lo_open else "[", "-inf" if lo is None else lo, "inf" if hi is None else hi,
                               ")" if hi_open else "]")
    return check, text


# name: (type, range check, range text). Types and ranges as the hyperparameter page documents them for 1.7-1;
# the subset that applies to binary classification and regression on dense CSV.
SPEC = {
    "num_round": ("int",) + interval(1),
    "early_stopping_rounds": ("int",) + interval(1),
    "max_depth": ("int",) + interval(0),
    "eta": ("float",) + interval(0, 1),
    "gamma": ("float",) + interval(0),
    "min_child_weight": ("float",) + interval(0),
    "max_delta_step": ("float",) + interval(0),
    "subsample": ("float",) + interval(0, 1, lo_open=True),
    "colsample_bytree": ("float",) + interval(0, 1, lo_open=True),
    "colsample_bylevel": ("float",) + interval(0, 1, lo_open=True),
    "colsample_bynode": ("float",) + interval(0, 1, lo_open=True),
    "lambda": ("float",) + interval(0),
    "alpha": ("float",) + interval(0),
    "scale_pos_weight": ("float",) + interval(0, lo_open=True),
    "base_score": ("float",) + interval(0),
    "max_leaves": ("int",) + interval(0),
    "max_bin": ("int",) + interval(0),
    "num_parallel_tree": ("int",) + interval(1),
    "nthread": ("int",) + interval(1),
    "verbosity": ("int",) + interval(0, 3),
    "seed": ("int",) + interval(-(2**31), 2**31 - 1, lo_open=True, hi_open=True),
    "tree_method": ("choice", {"auto", "exact", "approx", "hist"}, "auto, exact, approx, hist"),
    "grow_policy": ("choice", {"depthwise", "lossguide"}, "depthwise, lossguide"),
    "booster": ("choice", {"gbtree", "gblinear", "dart"}, "gbtree, gblinear, dart"),
    "objective": ("choice", OBJECTIVES, ", ".join(sorted(OBJECTIVES))),
    "eval_metric": ("metrics", None, ", ".join(sorted(MAXIMIZE_METRICS | MINIMIZE_METRICS))),
}
ALIASES = {"learning_rate": "eta", "min_split_loss": "gamma", "reg_lambda": "lambda", "reg_alpha": "alpha"}


def validate_hyperparameters(raw):
    """The HyperParameters map (all strings) → typed parameters, or UserError naming the first bad one."""
    out = {}
    for given, value in sorted(raw.items()):
        name = ALIASES.get(given, given)
        if name not in SPEC:
            raise UserError(
                "Hyperparameter '{}' is not a hyperparameter of the XGBoost 1.7-1 algorithm this stand-in runs "
                "(known: {})".format(given, ", ".join(sorted(SPEC)))
            )
        if name in out:
            raise UserError("Hyperparameter '{}' is given twice (as an alias too)".format(name))
        kind, check, text = SPEC[name]
        if not isinstance(value, str):
            raise UserError("Hyperparameter '{}': value {!r} is not a string".format(given, value))
        if kind in ("int", "float"):
            try:
                v = int(value) if kind == "int" else float(value)
            except ValueError:
                raise UserError("Hyperparameter '{}': '{}' is not {}".format(
                    given, value, "an integer" if kind == "int" else "a number"))
            if (kind == "float" and not math.isfinite(v)) or not check(v):
                raise UserError("Hyperparameter '{}': {} is outside {}".format(given, value, text))
        elif kind == "choice":
            if value not in check:
                raise UserError("Hyperparameter '{}': '{}' is not one of {}".format(given, value, text))
            v = value
        else:
            v = [m.strip() for m in value.split(",")]
            bad = [m for m in v if m not in MAXIMIZE_METRICS | MINIMIZE_METRICS]
            if not v or bad:
                raise UserError("Hyperparameter '{}': '{}' is not a comma-separated list of {}".format(
                    given, value, text))
        out[name] = v
    if "num_round" not in out:
        raise UserError("Hyperparameter 'num_round' is required")
    objective = out.get("objective", "reg:squarederror")
    if "auc" in out.get("eval_metric", []) and not objective.startswith("binary:"):
        raise UserError("Metric 'auc' can only be applied for classification and ranking problems.")
    return out


def dmatrix(path, label):
    uri = "{}?format=csv{}".format(path, "&label_column=0" if label else "")
    return xgb.DMatrix(uri)


def nthread_of(booster):
    config = json.loads(booster.save_config())
    n = int(config["learner"]["generic_param"].get("nthread", "0") or 0)
    return n if n > 0 else (os.cpu_count() or 1)


def train(request):
    params = validate_hyperparameters(request["hyperparameters"])
    num_round = params.pop("num_round")
    early = params.pop("early_stopping_rounds", None)
    dtrain = dmatrix(request["train"], label=True)
    dval = dmatrix(request["validation"], label=True)
    if dtrain.num_col() != dval.num_col():
        raise UserError("validation has {} feature columns, train {}".format(dval.num_col(), dtrain.num_col()))
    labels = dtrain.get_label()
    if params.get("objective", "").startswith("binary:") and any(y not in (0.0, 1.0) for y in labels):
        raise UserError("label must be in [0,1] for logistic regression")
    # The container's evaluation log: one line per round on stdout.
    callbacks = [xgb.callback.EvaluationMonitor()]
    metrics = params.get("eval_metric", [])
    if early and metrics:
        # As the container: the validation set, the last eval_metric, keep the best model.
        callbacks.append(xgb.callback.EarlyStopping(
            rounds=early, data_name="validation", metric_name=metrics[-1],
            maximize=metrics[-1] in MAXIMIZE_METRICS, save_best=True))
    started = time.time()
    history = {}
    booster = xgb.train(params, dtrain, num_boost_round=num_round, evals=[(dtrain, "train"), (dval, "validation")],
                        evals_result=history, callbacks=callbacks, verbose_eval=False)
    seconds = time.time() - started
    booster.save_model(request["model_out"])
    with open(request["validation_predictions_out"], "w") as f:
        f.write("\n".join(repr(float(p)) for p in booster.predict(dval)))
    best = booster.attr("best_iteration")
    return {
        "xgboostVersion": xgb.__version__,
        "numFeatures": booster.num_features(),
        "trainRows": dtrain.num_row(),
        "validationRows": dval.num_row(),
        "boostedRounds": booster.num_boosted_rounds(),
        "bestIteration": None if best is None else int(best),
        "nthread": nthread_of(booster),
        "seconds": seconds,
        # The last logged value of each metric, as SageMaker's metric regexes read the log, taken from XGBoost's own
        # record of the evaluation log rather than from stdout (whose last line a loaded machine can lose), and
        # rounded as the log prints it.
        "evaluatedRounds": max((len(v) for m in history.values() for v in m.values()), default=0),
        "finalMetrics": {"{}:{}".format(data, metric): round(values[-1], 5)
                         for data, metrics in history.items() for metric, values in metrics.items() if values},
    }


def predict(request):
    started = time.time()
    booster = xgb.Booster(model_file=request["model"])
    expected = booster.num_features()
    rows = []
    for i, part in enumerate(request["parts"]):
        if part["width"] != expected:
            raise UserError(json.dumps({"part": i, "got": part["width"], "expected": expected}))
        scores = booster.predict(dmatrix(part["features"], label=False))
        with open(part["scores_out"], "w") as f:
            f.write("\n".join(repr(float(p)) for p in scores))
        rows.append(len(scores))
    return {
        "xgboostVersion": xgb.__version__,
        "numFeatures": expected,
        "rows": rows,
        "nthread": nthread_of(booster),
        "seconds": time.time() - started,
    }


def main(argv):
    mode, request_file, result_file = argv[1], argv[2], argv[3]
    with open(request_file) as f:
        request = json.load(f)
    try:
        result = train(request) if mode == "train" else predict(request)
        code = 0
    except UserError as e:
        result, code = {"error": str(e)}, 1
    except xgb.core.XGBoostError as e:
        # XGBoost's own checks on the data (e.g. label range): the first line says it.
        result, code = {"error": str(e).strip().splitlines()[0]}, 1
    with open(result_file, "w") as f:
        json.dump(result, f)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv))
