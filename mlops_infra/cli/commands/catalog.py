"""``mlops-infra catalog refresh [--regions R[,R...]] [--out FILE]``: current prices from the AWS Price List.

Contract: reads SageMaker (hosting, training, processing) and EC2 on-demand prices for each region
with the caller's AWS credentials (``pricing:GetProducts``) and writes a price catalog to FILE
atomically (default: ``$MLOPS_INFRA_PRICES`` when set, else ``./mlops-infra-prices.json``); see
:mod:`mlops_infra.catalog.refresh_prices`. Plans use it when ``MLOPS_INFRA_PRICES`` names it; the
command says so. Regions default to ``us-east-1``. Errors (no credentials, access denied, an
unknown region) exit 1 with what to do, and leave FILE untouched.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import typer

from mlops_infra import catalog
from mlops_infra.errors import UserError

DEFAULT_OUT = Path("mlops-infra-prices.json")
REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")

catalog_app = typer.Typer(help="The price catalog the plan's cost estimate reads.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add the ``catalog`` command group to ``app``."""
    app.add_typer(catalog_app, name="catalog")


@catalog_app.command("refresh")
def refresh(
    regions: list[str] = typer.Option(["us-east-1"], "--regions", "-r",
                                      help="Regions to price, comma-separated or repeated (e.g. eu-west-1,us-east-1)."),
    out: str | None = typer.Option(None, "--out", "-o",
                                    help=f"Catalog file to write (default: ${catalog.PRICES_ENV}, else {DEFAULT_OUT})."),
) -> None:
    """Read current on-demand prices from the AWS Price List (needs AWS credentials) into a catalog file."""
    from mlops_infra.catalog.refresh_prices import refresh_prices

    wanted = sorted({r.strip() for value in regions for r in value.split(",") if r.strip()})
    bad = [r for r in wanted if not REGION.match(r)]
    if bad or not wanted:
        raise UserError(f"not a region code: {', '.join(bad) or '(none)'}", "Give region codes such as eu-west-1.")
    from mlops_infra.fileio import output_file

    # taken as text: a trailing / names a directory (Path() would drop it), refused before any AWS call
    path = output_file(out or os.environ.get(catalog.PRICES_ENV) or str(DEFAULT_OUT), what="price catalog").requested
    report = refresh_prices(wanted, path)
    for (service, use, region), count in sorted(report.counts.items()):
        typer.echo(f"{region}  {service} {use}: {count} prices", err=True)
    for note in report.notes:
        typer.echo(f"note: {note}", err=True)
    uses = "" if os.environ.get(catalog.PRICES_ENV) == str(path) else (
        f"; plans use it with {catalog.PRICES_ENV}={path.resolve()}")
    typer.echo(f"wrote {path} ({sum(report.counts.values())} prices for {', '.join(wanted)}){uses}")
