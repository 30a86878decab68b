#!/usr/bin/env python3
"""Independent reference for MedCIL's classification metrics: scikit-learn's accuracy_score
and f1_score(average="macro") (classes: those present in the labels or the predictions;
zero_division 0). Prints accuracy and macro-F1, one per line.
usage: sklearn_f1.py LABELS PREDICTIONS   (comma-separated integers)
"""
import sys

from sklearn.metrics import accuracy_score, f1_score


def main(args):
    labels = [int(v) for v in args[0].split(",")]
    predictions = [int(v) for v in args[1].split(",")]
    print(repr(float(accuracy_score(labels, predictions))))
    print(repr(float(f1_score(labels, predictions, average="macro", zero_division=0))))


if __name__ == "__main__":
    main(sys.argv[1:])
