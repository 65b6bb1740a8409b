"""Reference points reported beside the model: VADER and TF-IDF + logistic regression."""

from __future__ import annotations

import numpy as np

from pipeline.ml.classification import summary
from pipeline.ml.data import Splits
from pipeline.ml.hyperparameters import DECISION_THRESHOLD


def vader(splits: Splits) -> dict[str, float]:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    analyzer = SentimentIntensityAnalyzer()
    # compound is in [-1, 1]; map it to [0, 1], where 0.5 is its neutral point
    scores = np.array([(analyzer.polarity_scores(ex.text)["compound"] + 1) / 2 for ex in splits.test])
    return summary(np.array([ex.label for ex in splits.test]), scores, DECISION_THRESHOLD)


def tfidf_logreg(splits: Splits, seed: int) -> dict[str, float]:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    vectorizer = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)
    x_train = vectorizer.fit_transform([ex.text for ex in splits.train])
    model = LogisticRegression(C=4.0, max_iter=2000, random_state=seed)
    model.fit(x_train, [ex.label for ex in splits.train])
    scores = model.predict_proba(vectorizer.transform([ex.text for ex in splits.test]))[:, 1]
    return summary(np.array([ex.label for ex in splits.test]), scores, DECISION_THRESHOLD)


def anchors(splits: Splits, seed: int) -> dict[str, dict[str, float]]:
    return {"vader": vader(splits), "tfidf_logreg": tfidf_logreg(splits, seed)}
