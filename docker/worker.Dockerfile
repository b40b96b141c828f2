# A GPU worker: CUDA torch from the PyTorch image, plus diffusers and the rest of the `engines` extra.
FROM pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    HF_HOME=/models/huggingface
WORKDIR /app
COPY pyproject.toml README.md ./
COPY midway ./midway
COPY bot ./bot
COPY engines ./engines
COPY worker ./worker
COPY playground ./playground
# torch is already in the image; pip sees it satisfied and pulls no second copy.
RUN pip install ".[engines]"
CMD ["midway", "worker"]
