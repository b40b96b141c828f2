"""Tiny random-weight pipelines of the real diffusers (and transformers) classes, for tests and the offline demo.

One module per thing built: `stable_diffusion` (SD, SDXL), `flux`, `unclip` (Kandinsky 2.2 prior and
decoder), `upscaler` (SD x4), `caption` (BLIP), from the shared tiny CLIP text tower of `clip`; `cache`
builds each once into `<state_dir>/models/<name>`, which the registry then loads through the same
`from_pretrained` path as a real engine. `real_size` builds real-architecture SD 1.5 and SDXL pipelines
with random weights, for benchmarks. Production engine code never imports this package.
"""
