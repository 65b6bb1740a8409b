# The `sentiment-api` build agent: Jenkins' official inbound agent (Debian bookworm, Java 17) with what the
# Jenkinsfile's steps run: Python 3.11 with venv (bookworm's python3), git, Terraform, the docker CLI (the
# engine is the host's, through its socket) and groovy (Debian's 2.4, for tests/jenkins).
# Build: docker build -t sentiment-api-agent -f infra/jenkins/agent.Dockerfile infra/jenkins/   (infra/jenkins/README.md)
# Pin INBOUND_AGENT_TAG to a digest for reproducible agents.
ARG INBOUND_AGENT_TAG=bookworm-jdk17
FROM jenkins/inbound-agent:${INBOUND_AGENT_TAG}

ARG TERRAFORM_VERSION=1.11.4
# The base image runs as jenkins (uid 1000); install as root (uid 0).
USER 0
SHELL ["/bin/bash", "-o", "pipefail", "-c"]

# Debian's packages: bookworm's versions move only with security fixes, so they are not pinned one by one.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        ca-certificates curl git gnupg unzip \
        python3 python3-venv python3-dev build-essential \
        groovy \
    && rm -rf /var/lib/apt/lists/*

# The docker CLI and buildx from Docker's own Debian repository (the daemon is not installed: mount the
# host's /var/run/docker.sock and add its group, see infra/jenkins/README.md).
# hadolint ignore=DL3008
RUN install -m 0755 -d /etc/apt/keyrings \
    && curl -fsSL https://download.docker.com/linux/debian/gpg -o /etc/apt/keyrings/docker.asc \
    && echo "deb [arch=$(dpkg --print-architecture) signed-by=/etc/apt/keyrings/docker.asc] https://download.docker.com/linux/debian bookworm stable" \
        > /etc/apt/sources.list.d/docker.list \
    && apt-get update \
    && apt-get install -y --no-install-recommends docker-ce-cli docker-buildx-plugin \
    && rm -rf /var/lib/apt/lists/*

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
