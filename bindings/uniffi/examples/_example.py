"""What the examples share: run an async main and report a Rapport error the way a CLI does."""
import asyncio
import sys

from rapport_ffi import RapportError


def run(main, parser):
    """Runs `main(args)`; a RapportError prints its kind and message and exits with status 1."""
    try:
        asyncio.run(main(parser.parse_args()))
    except RapportError as e:
        print(f"error ({type(e).__name__}): {e}", file=sys.stderr)
        sys.exit(1)
