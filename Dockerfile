# Convene production image: the ASGI app (gunicorn + uvicorn workers), also used for migrate and the sealer.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=config.settings.prod

WORKDIR /app
COPY requirements.lock ./
RUN pip install --require-hashes -r requirements.lock

COPY . .
# Static files are collected at build time (no database or secret is read: these values exist only here).
RUN DJANGO_SECRET_KEY=collectstatic-only DATABASE_URL=postgres://build@localhost/build \
    python manage.py collectstatic --noinput -v0 \
 && useradd --system --uid 10001 --home-dir /app convene \
 && mkdir -p /app/var/checkpoints \
 && chown -R convene /app/var/checkpoints

USER convene
EXPOSE 8000
# Ask as the proxy does: an allowed Host and X-Forwarded-Proto (else ALLOWED_HOSTS or the HTTPS redirect
# answers instead of the view). docker-compose.yml gives web (/readyz) and sealer checks of their own.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
  CMD python -c "import os,sys,urllib.request as u; h=os.environ.get('DJANGO_ALLOWED_HOSTS','localhost').split(',')[0]; sys.exit(u.urlopen(u.Request('http://127.0.0.1:8000/healthz', headers={'Host': h, 'X-Forwarded-Proto': 'https'}), timeout=4).status != 200)"
CMD ["gunicorn", "config.asgi:application", "-k", "uvicorn_worker.UvicornWorker", \
     "--bind", "0.0.0.0:8000", "--workers", "4", "--access-logfile", "-", "--forwarded-allow-ips", "*"]
