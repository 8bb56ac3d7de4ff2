# Production image: gunicorn serving the platform; configuration comes from the environment.
FROM python:3.11-slim AS app

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

COPY pyproject.toml constraints.txt ./
COPY engagement ./engagement
COPY learners ./learners
COPY manage.py ./
RUN pip install -c constraints.txt . \
    && DEBUG=true python manage.py collectstatic --noinput \
    && useradd --system --uid 10001 app
USER app

EXPOSE 8000
CMD ["gunicorn", "engagement.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
