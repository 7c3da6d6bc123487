"""`%%video`: the cell is the prompt; the job is followed, then the video plays in the cell."""
from __future__ import annotations

from IPython.core.magic import magics_class
from IPython.core.magic_arguments import argument

from openai_magics.core.errors import UsageError
from openai_magics.core.session import session
from openai_magics.magics.kit import (GuardedMagics, bind_then_save, image_option, is_terminal,
                                        prompt_cell_magic, variable)


@magics_class
class VideoMagics(GuardedMagics):
    @prompt_cell_magic(
        argument("--seconds", type=int, help="How long: 4, 8 or 12 seconds (default 4)."),
        argument("--size",
                 help="WIDTHxHEIGHT: 720x1280 (default) or 1280x720; sora-2-pro also 1024x1792, 1792x1024."),
        argument("--image", metavar="SRC", help="The first frame, of the video's size: a path or a variable (PIL image, "
                                                "numpy array, figure, bytes)."),
        argument("--remix", metavar="ID", help="Remix this completed video with the cell's prompt (same model, size "
                                               "and length)."),
        argument("--save", metavar="PATH",
                 help="Also write the MP4 to PATH (a file, or a folder for prompt-slug.mp4)."))
    def video(self, args, prompt: str):
        """Make a video from the cell's prompt (Sora), shown in a player the saved notebook keeps."""
        from openai_magics.video.engine import run_video
        from openai_magics.video.request import VideoRequest

        s = session()
        image = image_option(self.shell, args.image, "--image") if args.image else None
        remix = self._video_id(args.remix) if args.remix else None
        request = VideoRequest(prompt=prompt, model=args.model if remix else s.model_for("video", args.model),
                               seconds=args.seconds, size=args.size, image=image, remix=remix,
                               cache=not args.no_cache)
        live = not (args.quiet or is_terminal(self.shell))
        result = run_video(s, request, self._view(live, request))
        bind_then_save(self.shell, args.output, result, args.save, "video")
        return None if args.quiet else result

    def _video_id(self, given: str) -> str:
        """--remix ID, or a variable holding an id or a video made before (`--remix {clip}`, `--remix clip`)."""
        name = given.strip("{} ")
        if not (given.startswith("{") or name in self.shell.user_ns):
            return given
        value = variable(self.shell, given, "--remix")
        value = getattr(value, "id", value)
        if not isinstance(value, str):
            raise UsageError(f"--remix {given}: a {type(value).__name__} is not a video id nor a video made here.")
        return value

    @staticmethod
    def _view(live: bool, request):
        if not live:
            return None
        from openai_magics.video.live import WidgetVideoView

        return WidgetVideoView(request.describe())
