FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 HOTLINE_VAR_DIR=/var/lib/hotline
WORKDIR /app
COPY pyproject.toml README.md ./
RUN pip install --no-cache-dir -e . 
COPY . .
RUN python manage.py collectstatic --noinput && mkdir -p /var/lib/hotline
EXPOSE 8000
CMD ["gunicorn", "hotline.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3"]
