"""Fit the assistant's confidence on the development set, and show where to put the threshold.

    python benchmarks/assistant_calibrate.py [SET.yaml ...] [--tenant farajaland] [--l2 1.0]

Each question of the sets (default: evaluation/assistant/dev.yaml), asked as typed and again with
keyboard slips (`with_typos`), gives the engine's signals for its best article (see
`RetrievalAnswerer._signals`) and a label: 1 when that article is an expected one, 0 otherwise
(always 0 for a question the content cannot answer). A logistic regression with an L2 penalty is
fitted on them; the script prints the weights to paste into `CALIBRATION` (engine.py), the
cross-validated quality of the fit, and for a range of thresholds what a user would get:
answered@1 (answered, and right), wrong (answered, and wrong) and abstention on the questions with
no answer. The held-out set must not be passed here: it is for the final check only.
"""
from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

import numpy as np
import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from assistant_eval import load_tenant, with_typos  # noqa: E402

from portal.assistant.engine import CALIBRATION, CALIBRATION_WORDS, RetrievalAnswerer, calibrated  # noqa: E402
from portal.assistant.sources import FolderSource  # noqa: E402

SIGNALS = ("coverage", "outline_coverage", "unknown", "margin", "length", "semantic")
WORD_SIGNALS = SIGNALS[:-1]  # --words-only: the engine without its sentence encoder


def fit(x: np.ndarray, y: np.ndarray, weights: np.ndarray, l2: float, iterations: int = 50) -> np.ndarray:
    """Weighted logistic regression by Newton's method; x has a leading column of ones (not penalised)."""
    w = np.zeros(x.shape[1])
    penalty = np.full(x.shape[1], l2)
    penalty[0] = 0.0
    for _ in range(iterations):
        p = 1 / (1 + np.exp(-x @ w))
        gradient = x.T @ (weights * (p - y)) + penalty * w
        hessian = (x * (weights * p * (1 - p))[:, None]).T @ x + np.diag(penalty)
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w


def log_loss(p: np.ndarray, y: np.ndarray) -> float:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sets", nargs="*", default=[str(REPO / "evaluation/assistant/dev.yaml")])
    parser.add_argument("--tenant", default="farajaland")
    parser.add_argument("--l2", type=float, default=1.0)
    parser.add_argument("--words-only", action="store_true",
                        help="fit CALIBRATION_WORDS: the weights used when there is no sentence vector")
    parser.add_argument("--balance", type=float, default=1.0,
                        help="total weight of the questions with no answer, relative to the answerable ones")
    args = parser.parse_args()
    tenant = load_tenant(REPO, args.tenant)
    signals = WORD_SIGNALS if args.words_only else SIGNALS
    current_weights = CALIBRATION_WORDS if args.words_only else CALIBRATION
    source = FolderSource(REPO / "library", REPO / "tenants")
    # The confidence is fitted on the development sets, whose questions are also Farajaland's examples:
    # without them, so that no question is ranked by itself.
    source.examples, source.examples_version = (lambda tenant: []), (lambda tenant: 0)
    answerer = RetrievalAnswerer(source, **({"encoder": None} if args.words_only else {}))
    answerer.warm(tenant)  # the indexes and their vectors, before the first question
    rng = random.Random(11)
    rows, labels, answerable, langs = [], [], [], []
    for path in args.sets:
        for item in yaml.safe_load(Path(path).read_text(encoding="utf-8")):
            for question in (item["question"], with_typos(item["question"], rng)):
                found = answerer.answer(tenant, question)
                expected = set(item.get("expected") or [])
                rows.append([1.0] + [found.signals.get(name, 0.0) for name in signals])
                labels.append(float(bool(found.best and found.best.slug in expected)))
                answerable.append(bool(expected))
                langs.append(item["lang"])
    x, y, answerable = np.array(rows), np.array(labels), np.array(answerable)
    weights = np.where(answerable, 1.0, args.balance * answerable.sum() / max((~answerable).sum(), 1))
    folds = np.arange(len(y)) // 2 % 5  # a question and its typed-again copy stay in the same fold
    held = np.zeros(len(y))
    for k in range(5):
        w = fit(x[folds != k], y[folds != k], weights[folds != k], args.l2)
        held[folds == k] = 1 / (1 + np.exp(-x[folds == k] @ w))
    w = fit(x, y, weights, args.l2)
    current = np.array([calibrated(dict(zip(signals, row[1:])), current_weights) for row in x])
    print(f"{len(y)} questions ({int(answerable.sum())} answerable), right first article: {y[answerable].mean():.2f}")
    print(f"log-loss: current weights {log_loss(current, y):.3f}, refitted (5-fold) {log_loss(held, y):.3f}")
    listed = [f'"bias": {w[0]:.2f}'] + [f'"{name}": {value:.2f}' for name, value in zip(signals, w[1:])]
    print(("CALIBRATION_WORDS" if args.words_only else "CALIBRATION") + " = {" + ", ".join(listed) + "}")
    print("threshold  answered@1  wrong  abstention   (cross-validated confidences, per language)")
    for threshold in np.arange(0.2, 0.75, 0.05):
        line = [f"{threshold:9.2f}"]
        for lang in sorted(set(langs)):
            mine = np.array([language == lang for language in langs])
            a, u = mine & answerable, mine & ~answerable
            answered = held >= threshold
            line.append(f"{lang} {np.mean(answered[a] & (y[a] == 1)):.2f} {np.mean(answered[a] & (y[a] == 0)):.2f} "
                        f"{np.mean(~answered[u]):.2f}")
        print("   ".join(line))


if __name__ == "__main__":
    main()
