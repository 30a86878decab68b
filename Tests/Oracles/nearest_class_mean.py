"""Oracle for the test-only nearest-class-mean method: class means of the exported training
features (every expert's features of a sample side by side), each test sample assigned to the
class whose mean is nearest in Euclidean distance (ties: the smaller class index).

usage: nearest_class_mean.py --train DIR... --test DIR...
prints one JSON object: {"predictions": [canonical class index per test sample, in order]}
"""
import argparse
import json
import os

import numpy as np


def load(folders):
    features, labels = [], []
    for folder in folders:
        f = np.load(os.path.join(folder, "features.npy")).astype(np.float64)
        features.append(f.reshape(f.shape[0], -1))
        labels.append(np.load(os.path.join(folder, "labels.npy")))
    return np.concatenate(features), np.concatenate(labels)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--train", nargs="+", required=True)
    parser.add_argument("--test", nargs="+", required=True)
    args = parser.parse_args()
    train, train_labels = load(args.train)
    test, _ = load(args.test)
    classes = np.unique(train_labels)
    means = np.stack([train[train_labels == c].mean(axis=0) for c in classes])
    distances = ((test[:, None, :] - means[None, :, :]) ** 2).sum(axis=2)
    predictions = classes[np.argmin(distances, axis=1)]
    print(json.dumps({"predictions": [int(p) for p in predictions]}))


if __name__ == "__main__":
    main()
