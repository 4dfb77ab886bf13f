"""`make docs`: write the generated service reference (docs/services.md) from the catalog."""

from __future__ import annotations

import sys
from pathlib import Path

from components.render.service_docs import SERVICES_DOC, render_services_md


def main() -> int:
    path = Path(SERVICES_DOC)
    path.parent.mkdir(exist_ok=True)
    path.write_text(render_services_md())
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
