# One image for every Studio Ledger process; the command picks the process:
# serve | projector | relay | consume | results | worker | sweep --loop
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY pyproject.toml README.md ./
COPY ledger ./ledger
COPY service ./service
COPY api ./api
COPY media ./media
COPY projections ./projections
RUN pip install . \
    && useradd --system --uid 10001 --home-dir /data studio \
    && mkdir -p /data && chown studio /data

USER studio
ENV STUDIO_DATA_DIR=/data
VOLUME ["/data"]
EXPOSE 8000
ENTRYPOINT ["studio-ledger"]
CMD ["serve"]
