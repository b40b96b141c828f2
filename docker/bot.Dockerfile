# The bot: discord.py + Redis client only. No torch, no numpy, no CUDA and no engines code: the bot talks to
# the workers through the contract in midway/ (tests/test_structure.py keeps bot/ from importing engines/).
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY midway ./midway
COPY cli ./cli
COPY ops ./ops
COPY bot ./bot
COPY playground ./playground
RUN pip install .
# /state is created here so that the named volume mounted on it starts owned by the bot's user.
RUN useradd --create-home midway && mkdir -p /state && chown midway /state
USER midway
CMD ["midway", "bot"]
