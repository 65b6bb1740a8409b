# The serving image: Falcon under Granian (or gunicorn) + the LiteRT runtime, no TensorFlow.
# Built by `python -m pipeline.build`, which first fills <artifacts>/build/wheelhouse and
# uses <artifacts>/build as the build context, so this build needs no network: pip installs --no-index.
# The model is not baked in: MODEL_VERSION (set at build) names the model version the
# container fetches from the model bucket at start and verifies file by file, and the
# tag <git-sha>-<model-version> names both halves of the release.

# Any Debian-based image with CPython 3.11 and the venv module works (the wheelhouse targets it);
# .ci/containers makes one with mmdebstrap where none can be pulled.
ARG BASE_IMAGE=python:3.11-slim

FROM ${BASE_IMAGE} AS install
COPY wheelhouse/ /wheels/
RUN python3 -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-index --no-cache-dir --find-links=/wheels sentiment-api \
    && /opt/venv/bin/pip uninstall --yes setuptools pip \
    && find /opt/venv -depth -type d -name tests -path '*numpy*' -exec rm -rf {} +

FROM ${BASE_IMAGE}
# The ARGs stay before the RUN below: buildah keys its cache for LABEL and ENV by their unexpanded
# text, so an image whose only steps after the ARGs were metadata would be cached whole, the first
# model version's labels and MODEL_VERSION included (tests/image: another model version's image).
ARG GIT_SHA=unknown
ARG MODEL_VERSION=""
ARG IMAGE_REF=""
LABEL org.opencontainers.image.title="sentiment-api" \
      org.opencontainers.image.description="Sentiment classifier behind a Falcon API" \
      org.opencontainers.image.revision="${GIT_SHA}" \
      org.opencontainers.image.version="${MODEL_VERSION}" \
      io.github.sentiment-api.model-version="${MODEL_VERSION}"

# A fixed, unprivileged uid; the root filesystem can be read-only (only /tmp is written).
# Then nothing in the image can gain privileges or install software: no setuid/setgid bits (su,
# passwd, mount...), no apt or dpkg (dpkg's status file stays, for scanners), no pip or setuptools
# (the venv's setuptools was an old, vulnerable one, and nothing runs it).
RUN useradd --system --uid 10001 --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin app \
    && find / -xdev -type f -perm /6000 -exec chmod ug-s {} + \
    && rm -rf /usr/bin/apt* /usr/bin/dpkg* /usr/sbin/dpkg* /usr/lib/apt /usr/lib/dpkg /etc/apt /var/lib/apt \
              /var/cache/apt /usr/share/perl5/Debian /etc/dpkg \
    && find / -xdev -path /proc -prune -o -type d \( -name 'setuptools' -o -name 'pip' \) \
            -path '*-packages/*' -prune -exec rm -rf {} +
COPY --from=install /opt/venv /opt/venv

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp \
    MODEL_VERSION=${MODEL_VERSION} \
    MODEL_CACHE_DIR=/tmp/models \
    GIT_SHA=${GIT_SHA} \
    IMAGE_REF=${IMAGE_REF} \
    GUNICORN_BIND=0.0.0.0:8000
# `python -m sentiment serve` reads its bind from SERVE_BIND, else GUNICORN_BIND (the name releases
# already set, e.g. a local release's port), so the image sets the latter: either name set at run wins.

USER 10001:10001
WORKDIR /tmp
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 CMD ["python3", "-m", "sentiment.healthcheck"]
CMD ["python3", "-m", "sentiment", "serve"]
