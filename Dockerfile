# NNTSC application image: one image for the web app (gunicorn), the collector,
# schema migrations and the Celery worker and beat (see docker-compose.yml for
# how each is run).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore

WORKDIR /app

# Dependencies first, exactly as pinned with their hashes (bin/lock-requirements.sh),
# so editing the code does not re-download them.
COPY requirements/base.txt ./requirements/
RUN pip install --require-hashes -r requirements/base.txt

# Then the project itself, without dependencies (all pinned above); `pip check`
# proves the lock holds everything setup.cfg asks for. A C compiler is there only
# while it installs: setup.py compiles the sysdig scan and the event detectors
# with Cython (without one the plain modules run, slower).
COPY . .
RUN apt-get update \
    && apt-get install -y --no-install-recommends gcc libc6-dev \
    && pip install --no-deps . \
    && pip check \
    && apt-get purge -y --auto-remove gcc libc6-dev \
    && rm -rf /var/lib/apt/lists/* build \
    && python -c "from nntsc.sysdig import scan; from nntsc.events import detectors; assert scan.COMPILED and detectors.COMPILED" \
    && useradd --system --uid 10001 --no-create-home --home-dir /app nntsc

# Already included by `COPY . .`; repeated so the path docker-compose.yml relies
# on survives any future .dockerignore change. Service URLs come from the
# NNTSC_* / AMPY_* / CELERY_* environment variables.
COPY deploy/production.ini deploy/gunicorn.conf.py /app/deploy/

USER nntsc
EXPOSE 6543

# gunicorn: [server:container] listens on 0.0.0.0:6543 (the default [server:main]
# is loopback-only).
CMD ["pserve", "--server-name=container", "/app/deploy/production.ini"]
