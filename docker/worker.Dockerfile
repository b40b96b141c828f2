# A GPU worker: CUDA torch from the PyTorch image, plus diffusers and the rest of the `engines` extra.
# torch >= 2.6: transformers 5, which loads the text encoders, turns its PyTorch support off below it.
FROM pytorch/pytorch:2.8.0-cuda12.8-cudnn9-runtime
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    HF_HOME=/models/huggingface
WORKDIR /app
COPY pyproject.toml README.md ./
COPY midway ./midway
COPY cli ./cli
COPY ops ./ops
COPY engines ./engines
COPY worker ./worker
# torch is already in the image; pip sees it satisfied and pulls no second copy.
RUN pip install ".[engines]"
CMD ["midway", "worker"]
