"""`%%image`: the cell is the prompt; the images show as a gallery."""
from __future__ import annotations

from IPython.core.magic import magics_class
from IPython.core.magic_arguments import argument

from openai_magics.core.session import session
from openai_magics.magics.kit import (GuardedMagics, bind_then_save, image_option, is_terminal,
                                        prompt_cell_magic)

LIVE_PARTIAL_IMAGES = 2  # partial images a live view asks for (each costs 100 image tokens more)


@magics_class
class ImageMagics(GuardedMagics):
    @prompt_cell_magic(
        argument("--size", help="WIDTHxHEIGHT, e.g. 1024x1024 (or auto); what the model takes."),
        argument("--quality", help="gpt-image: low, medium, high, auto; dall-e-3: standard, hd."),
        argument("-n", type=int, default=1, help="How many images (dall-e-3: 1)."),
        argument("--style", help="dall-e-3: vivid or natural."),
        argument("--background", help="gpt-image: transparent, opaque or auto."),
        argument("--format", help="gpt-image: png, jpeg or webp."),
        argument("--compression", type=int, help="gpt-image with jpeg or webp: 0 to 100 (percent)."),
        argument("--edit", action="append", default=[], metavar="SRC",
                 help="An image to edit: path, URL, or a variable (PIL image, numpy array, figure, bytes). "
                      "Repeatable."),
        argument("--mask", metavar="SRC",
                 help="Where to edit: transparent (alpha 0) areas, the size of the first --edit."),
        argument("--partial", type=int, metavar="N",
                 help=f"Partial images shown while it draws (models that stream them; default {LIVE_PARTIAL_IMAGES}, "
                      "0 to 3; each costs a little)."),
        argument("--save", metavar="DIR", help="Also write the images to DIR (prompt-slug-1.png, …)."),
        last=("output", "quiet", "no_interpolate", "no_cache", "dry_run"))
    def image(self, args, prompt: str):
        """Generate images from the cell's prompt, or edit images (--edit, --mask)."""
        from openai_magics.image.engine import run_image
        from openai_magics.image.request import ImageRequest

        s = session()
        live = not (args.quiet or args.dry_run or is_terminal(self.shell))
        request = ImageRequest(
            prompt=prompt, model=s.model_for("image", args.model), size=args.size, quality=args.quality, n=args.n,
            style=args.style, background=args.background, format=args.format, compression=args.compression,
            edits=[image_option(self.shell, src, "--edit") for src in args.edit],
            mask=image_option(self.shell, args.mask, "--mask", ("PNG",)) if args.mask else None,
            partial_images=_partials(args.partial, live), cache=not args.no_cache, dry_run=args.dry_run)
        result = run_image(s, request, self._view(live))
        saved = bind_then_save(self.shell, args.output, result, None if args.dry_run else args.save, "images")
        return None if args.quiet and saved else result

    @staticmethod
    def _view(live: bool):
        if not live:
            return None
        from openai_magics.image.live import WidgetImageView

        return WidgetImageView()


def _partials(asked: int | None, live: bool) -> int:
    from openai_magics.core.errors import UsageError

    if asked is not None and not 0 <= asked <= 3:
        raise UsageError(f"--partial {asked}: give 0 to 3 partial images.")
    if asked is not None:
        return asked
    return LIVE_PARTIAL_IMAGES if live else 0
