# syntax=docker/dockerfile:1
# osslist container image: `docker build -t osslist:0.1.0 .` from the repository root.
#
# Two stages. The build stage turns the project and every dependency into wheels; it needs a C
# compiler only because crcmod (an oss2 dependency) ships as an sdist. The runtime stage installs
# those wheels offline through a bind mount, so no compiler, wheel or pip cache reaches the image.

# Pinned by version: a rebuild gets the same Python; bump on purpose.
ARG PYTHON_IMAGE=python:3.12.7-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
# The compiler lives and dies in this stage, so pinning Debian point releases (DL3008) would only
# make the build break whenever the mirror moves on.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends gcc libc6-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Only what the project's own metadata needs: pyproject.toml (dependencies), README.md (the
# long description it names) and the package. .dockerignore keeps everything else out.
COPY pyproject.toml README.md ./
COPY osslist/ osslist/
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM ${PYTHON_IMAGE}
LABEL org.opencontainers.image.title="osslist" \
      org.opencontainers.image.description="List every object of an OSS bucket from a pod, with the pod's RAM role" \
      org.opencontainers.image.licenses="Apache-2.0"
# PYTHONDONTWRITEBYTECODE: the root file system is read-only in the pod; bytecode is compiled at
# install time instead. HOME=/tmp: the only writable place (an emptyDir in the manifests).
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HOME=/tmp
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-cache-dir --no-index --find-links=/wheels /wheels/*.whl \
    && groupadd --gid 10001 osslist \
    && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /tmp --shell /usr/sbin/nologin osslist
WORKDIR /tmp
# Numeric, so Kubernetes' runAsNonRoot can verify it without reading /etc/passwd.
USER 10001:10001
ENTRYPOINT ["osslist"]
CMD ["--help"]
