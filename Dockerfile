# syntax=docker/dockerfile:1
# Production images. The builder turns every pinned dependency (constraints.txt) into a wheel
# with the compilers at hand; the slim application image installs only those wheels, holds the
# source and the collected static files, and runs as an unprivileged user. It serves every role:
# web (the default command), worker, beat and the migrate job (compose.yaml, deploy/k8s/). The
# `proxy` target is nginx with the shared configuration and the same release's static files.
ARG PYTHON_IMAGE=python:3.11-slim-trixie
ARG NGINX_IMAGE=nginx:1.28-bookworm

FROM ${PYTHON_IMAGE} AS builder
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml constraints.txt ./
COPY engagement ./engagement
COPY learners ./learners
# The project's own wheel is dropped: the runtime runs the source tree, templates included.
RUN pip wheel --wheel-dir /wheels --constraint constraints.txt . \
    && rm /wheels/learner_engagement_platform-*.whl

FROM ${PYTHON_IMAGE} AS app
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
# pg_dump and pg_restore for `manage.py backup` and `restore` (Debian 13's client, 17, reads
# servers up to 17). Debian's security updates move its version: it is not pinned.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install --yes --no-install-recommends postgresql-client \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --user-group --no-create-home --home-dir /app app
WORKDIR /app
RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels \
    pip install --no-index --no-deps /wheels/*.whl
COPY manage.py ./
COPY templates ./templates
COPY engagement ./engagement
COPY learners ./learners
COPY deploy/gunicorn.conf.py deploy/healthcheck.py ./deploy/
# Production storage (hashed, compressed files and their manifest); the values below exist only
# for this build step, which reads settings but never a database, a key or a secret.
RUN DEBUG=false SECRET_KEY=collectstatic-build-step ALLOWED_HOSTS=localhost \
    FIELD_ENCRYPTION_KEYS=Y29sbGVjdHN0YXRpYy1idWlsZC1zdGVwLW5vdC1hLWs= \
    FIELD_HASH_KEY=collectstatic-build-step \
    python manage.py collectstatic --noinput --verbosity 0
# prometheus-client's per-process values (a tmpfs or emptyDir over it in compose and Kubernetes).
ENV PROMETHEUS_MULTIPROC_DIR=/tmp/prometheus
RUN install --directory --owner=app --group=app /tmp/prometheus
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "deploy/healthcheck.py"]
CMD ["gunicorn", "engagement.wsgi", "--config", "deploy/gunicorn.conf.py"]

FROM ${NGINX_IMAGE} AS proxy
ENV NGINX_STATIC_ROOT=/srv/static \
    NGINX_SNIPPETS=/etc/nginx/snippets \
    NGINX_LISTEN=8080 \
    ENGAGEMENT_UPSTREAM=web:8000
RUN rm /etc/nginx/conf.d/default.conf && mkdir -p /etc/nginx/snippets
COPY deploy/nginx/engagement.conf.template /etc/nginx/templates/
COPY --from=app /app/staticfiles /srv/static

# The default target: the application.
FROM app AS runtime
