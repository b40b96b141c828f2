# The bot: discord.py + Redis client only. No torch, no CUDA (the core package is torch-free).
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY midway ./midway
COPY bot ./bot
COPY engines ./engines
COPY worker ./worker
COPY playground ./playground
RUN pip install .
# /state is created here so that the named volume mounted on it starts owned by the bot's user.
RUN useradd --create-home midway && mkdir -p /state && chown midway /state
USER midway
CMD ["midway", "bot"]
