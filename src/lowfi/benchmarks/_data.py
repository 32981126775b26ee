"""Where a benchmark's data is looked for when no path is given.

Benchmark tables are not shipped with lowfi (their licences and sizes differ); a user gives
their folder with an argument or an environment variable. In a source checkout of lowfi (the
package under ``src/``) the data folder beside the checkout, ``../shared/data``, is the
default, so the project's own tests and benchmark scripts need no setting. An installed
package has no such default: nothing is read from the working folder or fixed places.
"""

from __future__ import annotations

from pathlib import Path


def checkout_data(*parts: str) -> tuple[Path, ...]:
    """``../shared/data/<parts>`` beside a source checkout of lowfi, if this is one."""
    here = Path(__file__).resolve()
    pkg, src = here.parents[1], here.parents[2]
    if pkg.name != "lowfi" or src.name != "src":
        return ()
    return (src.parent.parent / "shared" / "data" / Path(*parts),) if parts else \
        (src.parent.parent / "shared" / "data",)
