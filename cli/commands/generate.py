"""`midway generate`: run an engine in-process (no Redis) and write the image.

    midway generate --engine tiny --seed 7 -o fox.png "a red fox --ar 3:2"
    midway generate --op variation --image fox.png --strength 0.35 -o vary.png "a red fox"
    midway generate --op upscale --image cell.png --factor 2 -o big.png "a red fox"
    midway generate --op zoom --zoom 1.5 --image cell.png -o wider.png "a red fox in a forest"
    midway generate --op pan --pan left --image cell.png -o panned.png "a red fox"
    midway generate --op inpaint --image cell.png --region 25,25,50,50 -o vary.png "a red fox wearing a hat"
    midway generate --engine tiny-unclip --op blend --image a.png --image b.png -o blend.png "a blend"
    midway generate --image kite.png --sref style.png::2 -o ref.png "a red kite --iw 1.5 --sw 300"
    midway generate --engine tiny-flux --cref face.png -o hero.png "a knight on a horse --cw 60"

With --op imagine, --image files (and image links first in the prompt) are image prompts; --sref and --cref
add a style / character reference (a file or a link, `::weight` allowed), --oref an omni reference, as
`--sref`, `--cref` and `--oref` in the prompt do. An engine that cannot serve them (see `/engine list`) is
refused by name before it loads.
Imagine and variation write the 2x2 grid; upscale writes the single image. Exit 2 with a clear
message for a bad prompt, an unknown engine, a missing file, an out-of-range option (--seed 0-4294967295,
0 < --strength <= 1) or an -o path that cannot be written, all found before the engine loads.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from pydantic import ValidationError

from midway.contract import GenerationSpec, Operation, PanDirection, UpscaleMode

OPERATIONS = ("imagine", "variation", "upscale", "zoom", "pan", "inpaint", "blend")
MAX_SEED = 4294967295


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("prompt", nargs="+", help="the prompt with Midjourney parameters; quote it")
    parser.add_argument("--engine", help="catalogue engine name (default: --v alias, else MIDWAY_DEFAULT_ENGINE)")
    parser.add_argument("--seed", type=int, help=f"seed 0-{MAX_SEED} (overrides --seed in the prompt)")
    parser.add_argument("--op", choices=OPERATIONS, default="imagine")
    parser.add_argument("--image", type=Path, action="append", default=[],
                        help="source image (variation, upscale, zoom, pan, inpaint); repeat it for blend (2-5); "
                             "an image prompt for imagine")
    parser.add_argument("--sref", action="append", default=[], metavar="PATH_OR_URL[::WEIGHT]",
                        help="a style reference, as `--sref` in the prompt (repeatable)")
    parser.add_argument("--cref", action="append", default=[], metavar="PATH_OR_URL[::WEIGHT]",
                        help="a character reference, as `--cref` in the prompt (repeatable)")
    parser.add_argument("--oref", action="append", default=[], metavar="PATH_OR_URL",
                        help="an omni (object) reference, as `--oref` in the prompt (repeatable; --ow weighs it)")
    parser.add_argument("--region", help="inpaint: x,y,w,h to repaint, in fractions (0.25,...) or percent (25%%,...)")
    parser.add_argument("--strength", type=float, help="img2img strength for variation (above 0, at most 1)")
    parser.add_argument("--factor", type=int, choices=(2, 4), default=2, help="upscale factor")
    parser.add_argument("--mode", choices=[m.value for m in UpscaleMode], default="subtle", help="upscale mode")
    parser.add_argument("--zoom", type=float, default=2.0, help="zoom-out factor, 1.0-2.0")
    parser.add_argument("--pan", choices=[d.value for d in PanDirection], default="right", help="pan direction")
    parser.add_argument("--draft", action="store_true",
                        help="Draft mode, as `--draft` in the prompt: the engine's few-step draft setting")
    parser.add_argument("--lora", action="append", default=[], metavar="NAME[::WEIGHT]",
                        help="a catalogue LoRA, as `--lora` in the prompt (repeatable)")
    parser.add_argument("--max-batch", type=int, help="images per model call (results do not change)")
    parser.add_argument("-o", "--output", type=Path, required=True, help="where to write the PNG")


def run(args: argparse.Namespace) -> int:
    from midway.errors import EngineError
    from midway.prompt import PromptError

    try:
        _check_options(args)
        return _generate(args)
    except ValidationError as error:
        print(f"error: {_validation_message(error)}", file=sys.stderr)
        return 2
    except (EngineError, PromptError, ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


def _check_options(args: argparse.Namespace) -> None:
    """What the options alone can tell, before the catalogue or an engine loads."""
    if args.seed is not None and not 0 <= args.seed <= MAX_SEED:
        raise ValueError(f"--seed must be between 0 and {MAX_SEED}, got {args.seed}")
    if args.strength is not None and not 0 < args.strength <= 1:
        raise ValueError(f"--strength must be above 0 and at most 1, got {args.strength:g}")
    if args.max_batch is not None and args.max_batch < 1:
        raise ValueError(f"--max-batch must be at least 1, got {args.max_batch}")
    _check_output(args.output)


def _check_output(output: Path) -> None:
    """-o must be a file that can be written: not a directory, in a folder that exists or can be made."""
    if output.is_dir():
        raise ValueError(f"-o {output} is a directory; give a file name such as {output / 'out.png'}")
    if output.exists() and not output.is_file():
        raise ValueError(f"-o {output} is not a regular file")
    # The nearest folder that exists: the rest of the path is made when the image is written.
    folder = output.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise ValueError(f"cannot write -o {output}: {folder} is not a directory")
    try:
        with tempfile.TemporaryFile(dir=folder, prefix=".midway-write-check-"):
            pass
    except OSError as error:
        raise ValueError(f"cannot write -o {output}: cannot create files in {folder} "
                         f"({error.strerror or error})") from None


def _validation_message(error: ValidationError) -> str:
    """pydantic's report -> one line: `field: message` per problem."""
    problems = []
    for detail in error.errors():
        field = ".".join(str(part) for part in detail["loc"])
        problems.append(f"{field}: {detail['msg']}" if field else detail["msg"])
    return "; ".join(problems)


def _updated(spec: GenerationSpec, **update) -> GenerationSpec:
    """spec with `update`, validated (model_copy would skip the field constraints)."""
    return GenerationSpec.model_validate({**spec.model_dump(), **update})


def _generate(args: argparse.Namespace) -> int:
    from midway.catalogue import load_catalogue

    catalogue = load_catalogue()
    spec = _spec(args, catalogue)
    assert spec.engine is not None  # _spec always names one
    blended = [_load_image(path) for path in args.image] if args.op == "blend" else []
    if args.op == "blend" and len(blended) < 2:
        raise ValueError("blend needs at least two --image files")
    source = _load_image(args.image[0] if args.image else None) if args.op not in ("imagine", "blend") else None
    if args.op == "imagine":
        blended = [*(_reference(url) for url in spec.image_urls), *(_load_image(path) for path in args.image)]
    style = [_reference(ref) for ref in spec.style_refs]
    characters = [_reference(ref) for ref in [*spec.character_refs, *spec.omni_refs]]
    if args.op in ("zoom", "pan", "inpaint"):
        spec = _outpaint_spec(args, spec, source, catalogue.get(spec.engine).size_multiple)
    quiet_libraries()
    from engines.registry import get_engine
    from midway.images.imaging import compose_grid
    from ops.heap_tuning import keep_freed_memory

    assert spec.engine is not None
    engine = get_engine(spec.engine, catalogue)
    # As `midway worker` does, once the engine is loaded: each denoising step reuses the last one's
    # memory (ops/heap_tuning.py).
    keep_freed_memory()
    started = time.perf_counter()
    extra: dict = {"source_images": blended} if blended else {}
    if style:
        extra["style_images"] = style
    if characters:
        extra["character_images"] = characters
    images = engine.run(spec, init_image=source, max_batch=args.max_batch, **extra)
    elapsed = time.perf_counter() - started
    result = compose_grid(images) if len(images) == 4 else images[0]
    args.output.parent.mkdir(parents=True, exist_ok=True)
    result.save(args.output, format="PNG")
    mode = "  draft" if spec.draft else ""
    print(f"seed {spec.seed}  engine {spec.engine}  {spec.operation.value}{mode}  {result.width}x{result.height}  "
          f"{elapsed:.2f} s  -> {args.output}")
    return 0


def _spec(args: argparse.Namespace, catalogue) -> GenerationSpec:
    from midway.catalogue import alias_table, engine_sizes
    from midway.drafts import draft_spec
    from midway.loras import resolve_loras
    from midway.prompt import ParseOptions, parse_prompt
    from midway.settings import get_settings

    default = args.engine or get_settings().default_engine
    entry = catalogue.get(default)
    options = ParseOptions(base_width=entry.base_width, base_height=entry.base_height,
                           size_multiple=entry.size_multiple, aliases=alias_table(catalogue),
                           default_engine=default, engine_sizes=None if args.engine else engine_sizes(catalogue))
    specs = parse_prompt(" ".join([*args.prompt, *(f"--lora {lora}" for lora in args.lora)]), options)
    for refs, field, weights in ((args.sref, "style_refs", "style_ref_weights"),
                                 (args.cref, "character_refs", "character_ref_weights"),
                                 (args.oref, "omni_refs", None)):
        if refs:
            specs = [_with_reference_files(spec, refs, field, weights) for spec in specs]
    if len(specs) > 1:
        print(f"note: the prompt expands to {len(specs)} jobs; generating the first", file=sys.stderr)
    spec = specs[0]
    engine = args.engine or spec.engine or default
    catalogue.get(engine)  # EngineNotFound names the known engines
    update: dict = {"engine": engine, "operation": Operation(args.op)}
    # No channel here, so no allow list: any catalogue LoRA that fits the engine's family.
    spec = resolve_loras(spec, catalogue.get(engine).family, catalogue.loras)
    if args.seed is not None:
        update["seed"] = args.seed
    if args.strength is not None:
        update["strength"] = args.strength
    if args.draft:
        update["draft"] = True
    if args.op == "upscale":
        update.update(n_images=1, upscale_factor=args.factor, upscale_mode=UpscaleMode(args.mode), draft=False)
    spec = draft_spec(_updated(spec, **update), catalogue)
    # The bot's and `midway submit`'s refusals (--sref / --cref on an engine without the adapter, ...), here
    # before the engine loads rather than from inside engine.run.
    from cli.commands.submit import check_engine_serves

    assert spec.engine is not None
    check_engine_serves(spec, catalogue.get(spec.engine), engine if spec.engine != engine else None)
    return spec


def _outpaint_spec(args: argparse.Namespace, spec: GenerationSpec, source, multiple: int) -> GenerationSpec:
    """Zoom, pan and inpaint start from the source's own size (rounded to the engine's multiple)."""
    from midway.region import parse_region
    from midway.spec_edits import pan_spec, region_spec, zoom_spec

    width, height = (max(multiple, round(side / multiple) * multiple) for side in source.size)
    spec = _updated(spec, width=width, height=height)
    if args.op == "inpaint":
        if not args.region:
            raise ValueError("inpaint needs --region x,y,w,h")
        return region_spec(spec, parse_region(args.region))
    return zoom_spec(spec, args.zoom) if args.op == "zoom" else pan_spec(spec, args.pan, multiple)


def _with_reference_files(spec: GenerationSpec, refs: list[str], field: str, weights_field: str | None
                          ) -> GenerationSpec:
    """--sref / --cref PATH_OR_URL[::W] (--oref: no weight) joined to the prompt's own links of that kind (a
    path is no link the parser knows)."""
    from midway.prompt import values

    paths, typed = [], []
    for ref in refs:
        head, separator, weight = ref.rpartition("::")
        path, given = (head, weight) if separator and head else (ref, None)
        if given is not None and weights_field is None:
            raise ValueError(f"--oref {ref}: an omni reference takes no ::weight (--ow weighs it)")
        paths.append(path)
        typed.append(given)
    own = list(getattr(spec, field))
    if weights_field is None:
        return _updated(spec, **{field: own + paths})
    own_weights = getattr(spec, weights_field) or ([1.0] * len(own) if any(t is not None for t in typed) else [])
    weights = values.image_weights(paths, typed)
    if own_weights or weights:
        weights = own_weights + (weights or [1.0] * len(paths))
    return spec.model_copy(update={field: own + paths, weights_field: weights})


def _reference(ref: str):
    """An image reference: a local file, or a link fetched under midway/fetch.py's rules."""
    if "://" not in ref:
        return _load_image(Path(ref))
    from midway.fetch import decode_image, fetch_bytes, policy_from_text
    from midway.settings import get_settings

    return decode_image(fetch_bytes(ref, policy_from_text(get_settings().fetch_allow_hosts))).convert("RGB")


def _load_image(path: Path | None):
    from midway.images.imaging import image_from_bytes

    if path is None:
        raise ValueError("--image is required for variation, upscale, zoom, pan and inpaint")
    if not path.is_file():
        raise ValueError(f"image not found: {path}")
    return image_from_bytes(path.read_bytes()).convert("RGB")


def quiet_libraries() -> None:
    """Progress bars and load chatter from diffusers/transformers would drown the one result line."""
    import diffusers
    import transformers

    diffusers.utils.logging.set_verbosity_error()
    diffusers.utils.logging.disable_progress_bar()
    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
