FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
COPY requirements.lock pyproject.toml ./
RUN pip install --no-cache-dir -r requirements.lock
COPY . .
RUN pip install --no-cache-dir --no-deps -e . \
 && SECRET_KEY=build-only DEBUG=false STATIC_MANIFEST=true python manage.py collectstatic --noinput -v0
RUN useradd --system --uid 1000 elevate && mkdir -p /app/var/media && chown -R elevate /app/var
USER elevate
EXPOSE 8000
