# The Jenkins controller: the official LTS image with the plugins of plugins.txt and the configuration as
# code of casc.yaml. Build: docker build -t sentiment-api-jenkins -f infra/jenkins/controller.Dockerfile infra/jenkins/
# Pin the tag (or a digest) of the LTS line you run.
ARG JENKINS_TAG=lts-jdk17
FROM jenkins/jenkins:${JENKINS_TAG}

ENV CASC_JENKINS_CONFIG=/usr/share/jenkins/ref/casc.yaml \
    JAVA_OPTS=-Djenkins.install.runSetupWizard=false
COPY plugins.txt /usr/share/jenkins/ref/plugins.txt
RUN jenkins-plugin-cli --plugin-file /usr/share/jenkins/ref/plugins.txt
COPY casc.yaml /usr/share/jenkins/ref/casc.yaml
