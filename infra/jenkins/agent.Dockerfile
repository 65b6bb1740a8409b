# The `sentiment-api` build agent: Jenkins' official inbound agent (Debian bookworm, Java 17) with what the
# Jenkinsfile's steps run: Python 3.11 with venv (bookworm's python3), git, Terraform, rootless podman (the
# build stage's container engine: the agent builds and runs images in its own user namespace, with no
# socket of the host's engine mounted), Java + npm (npm-groovy-lint) and groovy (Debian's 2.4, tests/integration/jenkins).
# Build: docker build -t sentiment-api-agent -f infra/jenkins/agent.Dockerfile infra/jenkins/   (docs/how-to/jenkins.md)
# Pin INBOUND_AGENT_TAG to a digest for reproducible agents.
ARG INBOUND_AGENT_TAG=bookworm-jdk17
FROM jenkins/inbound-agent:${INBOUND_AGENT_TAG}

ARG TERRAFORM_VERSION=1.11.4
# The base image runs as jenkins (uid 1000); install as root (uid 0).
USER 0
SHELL ["/bin/bash", "-o", "pipefail", "-c"]

# Debian's packages: bookworm's versions move only with security fixes, so they are not pinned one by one.
# podman, buildah and skopeo run rootless as jenkins (uidmap: newuidmap/newgidmap, fuse-overlayfs: storage,
# slirp4netns: networking); the uid/gid ranges below give jenkins the user namespace they need.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        ca-certificates curl git gnupg unzip \
        python3 python3-venv python3-dev build-essential \
        groovy npm \
        podman buildah skopeo uidmap fuse-overlayfs slirp4netns \
    && rm -rf /var/lib/apt/lists/* \
    && echo "jenkins:100000:65536" > /etc/subuid \
    && echo "jenkins:100000:65536" > /etc/subgid

# Terraform: HashiCorp's release zip, checked against the release's SHA256SUMS.
WORKDIR /tmp/terraform
RUN arch="$(dpkg --print-architecture)" \
    && base="https://releases.hashicorp.com/terraform/${TERRAFORM_VERSION}" \
    && curl -fsSLO "${base}/terraform_${TERRAFORM_VERSION}_linux_${arch}.zip" \
    && curl -fsSLO "${base}/terraform_${TERRAFORM_VERSION}_SHA256SUMS" \
    && grep " terraform_${TERRAFORM_VERSION}_linux_${arch}.zip\$" "terraform_${TERRAFORM_VERSION}_SHA256SUMS" | sha256sum -c - \
    && unzip -q "terraform_${TERRAFORM_VERSION}_linux_${arch}.zip" terraform -d /usr/local/bin \
    && rm -rf /tmp/terraform \
    && terraform version
WORKDIR /home/jenkins

USER 1000:1000
