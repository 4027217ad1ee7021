"""The ``webmap`` command: thin; every command opens the same services the API serves."""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from .comments.service import STATUSES
from .problems import NotFound, Problem, ServiceUnavailable
from .settings import Settings, SettingsError
from .types import ImportReport

if TYPE_CHECKING:
    from .database import Database
    from .plans.service import PlanReport
    from .services import Services

QUIET_LOGGERS = ("webmap.database", "psycopg.pool")
"""Their warnings restate what a command's own ``error:`` line says."""


def _settings() -> Settings:
    try:
        return Settings.from_env(os.environ)
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None


def _reason(exc: BaseException) -> str:
    """The first line of what caused a problem (a driver's message), if any."""
    cause = exc.__cause__
    text = str(cause).strip() if cause is not None else ""
    return text.splitlines()[0] if text else ""


@contextmanager
def _problems() -> Iterator[None]:
    """Print a problem's detail on one line and exit 2, as the conventions say."""
    try:
        yield
    except ServiceUnavailable as exc:
        reason = _reason(exc)
        detail = exc.detail.split(";")[0] + (f": {reason}" if reason else "")
        click.echo(f"error: {detail}", err=True)
        sys.exit(2)
    except Problem as exc:
        click.echo(f"error: {exc.detail}", err=True)
        sys.exit(2)


@contextmanager
def _services() -> Iterator[Services]:
    """The services of ``WEBMAP_*``, closed afterwards; a problem opening them is one line."""
    from .maps import MapDefinitionError
    from .services import open_services

    with _problems():
        try:
            with open_services(_settings()) as services:
                yield services
        except MapDefinitionError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)


@click.group()
@click.version_option(package_name="webmap")
def main() -> None:
    """webmap: accessible web maps for municipal e-services.

    Settings come from WEBMAP_* environment variables (see the README).
    """
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)


@main.group()
def layers() -> None:
    """Import, list and remove layers."""


def _progress_bar(path: Path) -> tuple[Callable[[int, int], None], Callable[[], None]]:
    """A tqdm bar that appears only for large inputs (over 10,000 features)."""
    from tqdm import tqdm

    state: dict[str, Any] = {}

    def update(done: int, total: int) -> None:
        if total < 10_000:
            return
        bar = state.get("bar")
        if bar is None:
            bar = state["bar"] = tqdm(total=total, unit="features", desc=path.name,
                                      file=sys.stderr, leave=False)
        bar.update(done - bar.n)

    def close() -> None:
        if "bar" in state:
            state["bar"].close()

    return update, close


def _print_report(report: ImportReport) -> None:
    minx, miny, maxx, maxy = report.bbox
    click.echo(f"imported {report.layer_id}: {report.kind}, {report.feature_count} features "
               f"({report.geometry_type}) from {report.source_crs}")
    click.echo(f"  bbox (lon/lat): {minx:.5f}, {miny:.5f}, {maxx:.5f}, {maxy:.5f}")
    click.echo(f"  repaired: {report.repaired}, dropped: {report.dropped}")
    if report.editable:
        click.echo("  editable: staff may edit its features (OGC API - Features Part 4)")
    for warning in report.warnings:
        click.echo(f"  warning: {warning}")


@layers.command("import")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option("--id", "layer_id", required=True, help="Layer id: a-z, 0-9, _ and -.")
@click.option("--title", help="Human-readable title (default: the file name).")
@click.option("--crs", help="Source CRS, e.g. EPSG:3067, when the file has none or a wrong one.")
@click.option("--layer", help="Layer to take from a file with several (GeoPackage, OSM…).")
@click.option("--encoding", help="Text encoding of legacy files, e.g. cp1252.")
@click.option("--x", "x_column", help="CSV: the easting/longitude column.")
@click.option("--y", "y_column", help="CSV: the northing/latitude column.")
@click.option("--wkt", "wkt_column", help="CSV: the column holding WKT geometry.")
@click.option("--attribution", help="Attribution shown with the layer, e.g. '© NLS, CC BY 4.0'.")
@click.option("--description", help="A sentence or two about the layer.")
@click.option("--id-field", "id_field",
              help="Attribute that identifies features, so ids stay when the layer is "
                   "replaced (default: the previous version's, else the first unique id-like "
                   "column; 'none' numbers features in file order).")
@click.option("--time", "time_field",
              help="Date or datetime attribute the API's datetime parameter filters on "
                   "(default: the previous version's, else the first date or datetime "
                   "attribute).")
@click.option("--editable/--not-editable", default=None,
              help="Let staff edit its features with a bearer token (OGC API - Features "
                   "Part 4, e.g. from QGIS); default: as the replaced version, else not.")
@click.option("--force", is_flag=True,
              help="Replace even when a map that uses the layer reads an attribute the new "
                   "file lacks.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def import_layer(path: Path, layer_id: str, as_json: bool, force: bool,
                 **options: Any) -> None:
    """Import PATH (Shapefile, GeoPackage, GeoJSON, CSV, GML, KML, TAB, OSM PBF, GeoTIFF)."""
    from .ingest.bounded import ImportLimits
    from .layers import import_file

    update, close = _progress_bar(path)
    options = {k: v for k, v in options.items() if v is not None}
    with _services() as services:
        try:
            report = import_file(services.layers, path, layer_id, on_progress=update,
                                 maps=services.layer_users(), force=force,
                                 limits=ImportLimits.from_settings(services.settings),
                                 **options)
        finally:
            close()
    if as_json:
        click.echo(json.dumps(report.as_dict(), ensure_ascii=False))
    else:
        _print_report(report)


@layers.command("list")
def list_layers() -> None:
    """List layers: id, kind, features, source CRS, title."""
    with _services() as services:
        for info in services.layers.layers():
            click.echo(f"{info.id}\t{info.kind}\t{info.feature_count}\t{info.source_crs}\t"
                       f"{info.title}")


@layers.command("remove")
@click.argument("layer_id")
@click.option("--force", is_flag=True, help="Remove even when maps use the layer.")
def remove_layer(layer_id: str, force: bool) -> None:
    """Remove a layer and its files (refused while a map uses it, unless --force)."""
    from .layers import remove_layer as remove

    with _services() as services:
        remove(services.layers, layer_id, maps=services.layer_users(), force=force)
    click.echo(f"removed {layer_id}")


@main.group()
def plans() -> None:
    """Import, show, export and remove plans (Ryhti plan JSON, NGP detaljplan)."""


@plans.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--id", "plan_id", required=True,
              help="Plan id: a-z, 0-9, _ and - (its layers are ID-areas, ID-lines, ID-points).")
@click.option("--name", help="The plan's name when the file has none (Ryhti SpatialPlan).")
@click.option("--municipality", help="Municipality code or name when the file has none.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def import_plan(path: Path, plan_id: str, name: str | None, municipality: str | None,
                as_json: bool) -> None:
    """Import PATH, a plan in Ryhti plan JSON or an NGP detaljplan delivery (read by content)."""
    with _services() as services:
        report = services.plans.import_plan(path, plan_id, name=name,
                                            municipality=municipality)
    if as_json:
        click.echo(json.dumps(report.as_dict(), ensure_ascii=False))
        return
    _print_plan_report(report)


def _print_plan_report(report: PlanReport) -> None:
    click.echo(f"imported plan {report.plan_id}: {report.model}, {report.objects} objects, "
               f"{report.groups} regulation groups, {report.regulations} regulations, "
               f"{report.general_groups} general regulation groups, {report.relations} "
               f"relations, from {report.source_crs}")
    for layer in report.layers:
        _print_report(layer)
    for warning in report.warnings:
        click.echo(f"  warning: {warning}")


@plans.command("list")
def list_plans() -> None:
    """List plans: id, model, municipality, status, name."""
    from .plans.model import first_text

    with _services() as services:
        for stored in services.plans.plans():
            plan = stored.definition
            status = plan.get("status") or {}
            click.echo(f"{stored.id}\t{stored.model}\t{plan.get('municipality') or ''}\t"
                       f"{first_text(status.get('label') or {}, 'en') or status.get('code', '')}"
                       f"\t{first_text(plan.get('name') or {}) or ''}")


@plans.command("show")
@click.argument("plan_id")
@click.option("--lang", type=click.Choice(["fi", "sv", "en"]), default="fi", show_default=True,
              help="Language of the regulation texts.")
@click.option("--json", "as_json", is_flag=True, help="Print what GET /plans/ID answers.")
def show_plan(plan_id: str, lang: str, as_json: bool) -> None:
    """Show a plan: metadata, general regulations and regulation groups as text."""
    from .plans.document import plan_document
    from .plans.model import first_text

    with _services() as services:
        document = plan_document(services.plans.plan(plan_id))
    if as_json:
        click.echo(json.dumps(document, ensure_ascii=False, indent=1))
        return
    status = document.get("status") or {}
    click.echo(f"{document['id']}: {first_text(document.get('name') or {}, lang)} "
               f"({document['model']})")
    for label, value in (("identifier", document.get("identifier")),
                         ("municipality", document.get("municipality")),
                         ("status", first_text(status.get("label") or {}, lang)
                          or status.get("code")),
                         ("source CRS", document.get("source_crs"))):
        if value:
            click.echo(f"  {label}: {value}")
    for layer in document["layers"]:
        click.echo(f"  layer {layer['id']}: {layer['feature_count']} {layer['kind']}s")
    for title, key in (("general regulations", "general_regulations"),
                       ("regulation groups", "regulation_groups")):
        if document[key]:
            click.echo(f"{title}:")
        for group in document[key]:
            click.echo(f"  - {group['text'][lang]}")


@plans.command("export")
@click.argument("plan_id")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to this file (default: standard output).")
def export_plan(plan_id: str, output: Path | None) -> None:
    """Write the plan back in its model's JSON, exactly as it was imported."""
    with _services() as services:
        document = services.plans.source(plan_id)
    text = json.dumps(document, ensure_ascii=False, indent=2) + "\n"
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")


@plans.command("remove")
@click.argument("plan_id")
def remove_plan(plan_id: str) -> None:
    """Remove a plan and its layers."""
    with _services() as services:
        services.plans.remove(plan_id)
    click.echo(f"removed plan {plan_id}")


@main.command()
@click.option("--force", is_flag=True, help="Re-import layers that already exist.")
def demo(force: bool) -> None:
    """Import the demo layers and plans in layers/demo/demo.json (skips those already there)."""
    from .layers import import_file

    with _services() as services:
        manifest_path = services.settings.layers_dir / "demo" / "demo.json"
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        existing = {info.id for info in services.layers.layers()}
        for entry in manifest["layers"]:
            if entry["id"] in existing and not force:
                click.echo(f"{entry['id']}: already imported")
                continue
            options = {k: v for k, v in entry.items() if k not in {"id", "path"}}
            report = import_file(services.layers, manifest_path.parent / entry["path"],
                                 entry["id"], **options)
            _print_report(report)
        plans_there = {stored.id for stored in services.plans.plans()}
        for entry in manifest.get("plans", []):
            if entry["id"] in plans_there and not force:
                click.echo(f"plan {entry['id']}: already imported")
                continue
            plan = services.plans.import_plan(
                manifest_path.parent / entry["path"], entry["id"], name=entry.get("name"),
                municipality=entry.get("municipality"))
            _print_plan_report(plan)
        for entry in manifest.get("basemaps", []):
            _demo_basemap(services, manifest_path.parent, entry, existing, force)


def _demo_basemap(services: Services, folder: Path, entry: dict[str, Any], existing: set[str],
                  force: bool) -> None:
    """Build a demo base map's layers (its style files ship in styles/basemaps/)."""
    from .basemap.build import build_basemap

    basemap_id = entry["id"]
    if any(layer_id.startswith(f"{basemap_id}-") for layer_id in existing) and not force:
        click.echo(f"base map {basemap_id}: already built")
        return
    report = build_basemap(services.layers, services.settings.styles_dir, basemap_id,
                           [folder / source for source in entry["sources"]],
                           title=entry.get("title"), write_styles=False)
    click.echo(f"base map {basemap_id}: " + ", ".join(
        f"{layer_id} ({count} features)" for layer_id, count in report.layers.items()))


@main.command("export-all")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
def export_all(directory: Path) -> None:
    """Write every layer (GeoPackage in EPSG:4326, COG), published map (JSON), the comments
    (GeoPackage per map, with personal data), plan (JSON) and a manifest into an empty
    DIRECTORY."""
    from .backup import export_all as export

    with _services() as services:
        export(services.layers, directory, maps=services.maps,
               comments=services.comments.storage, plans=services.plans.storage,
               on_layer=click.echo)


@main.command("import-all")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
def import_all(directory: Path) -> None:
    """Import the layers, maps, comments and plans of a DIRECTORY written by export-all
    (replacing layers, maps and plans of the same id; comments already stored are kept)."""
    from .backup import import_all as restore

    with _services() as services:
        restore(services.layers, directory, maps=services.maps,
                comments=services.comments.storage, plans=services.plans.storage,
                on_layer=click.echo)


@main.group()
def tokens() -> None:
    """Staff tokens for /admin/api (Authorization: Bearer …)."""


@tokens.command("create")
@click.argument("name")
def create_token(name: str) -> None:
    """Create a token for NAME and print it once: it is stored only as a hash."""
    with _services() as services:
        token = services.tokens.create(name)
    click.echo(token)
    click.echo(f"(token for {name}: keep it safe, it cannot be shown again)", err=True)


@tokens.command("list")
def list_tokens() -> None:
    """List tokens: name, created, revoked."""
    with _services() as services:
        for info in services.tokens.list():
            state = f"revoked {info.revoked}" if info.revoked else "active"
            click.echo(f"{info.name}\t{info.created}\t{state}")


@tokens.command("revoke")
@click.argument("name")
def revoke_token(name: str) -> None:
    """Revoke the token called NAME."""
    with _services() as services:
        services.tokens.revoke(name)
    click.echo(f"revoked {name}")


@main.group()
def basemap() -> None:
    """Build base maps webmap draws itself (styles/basemaps/)."""


@basemap.command("build")
@click.argument("sources", nargs=-1, required=True,
                type=click.Path(exists=True, path_type=Path))
@click.option("--id", "basemap_id", required=True,
              help="Base-map id: its layers become ID-streets, ID-buildings, ID-water, "
                   "ID-green and ID-places; its files styles/basemaps/ID.json and "
                   "ID-contrast.json.")
@click.option("--title", help="Title in every language (default: from the id).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def build_basemap_command(sources: tuple[Path, ...], basemap_id: str, title: str | None,
                          as_json: bool) -> None:
    """Make a base map from SOURCES: OpenStreetMap extracts (.osm.pbf) and/or folders of NLS
    topographic shapefiles (Maastotietokanta). Streets, buildings, water and street and
    place names (Swedish after Finnish where the data has name:sv); a high-contrast variant
    is written too."""
    from .basemap.build import build_basemap

    with _services() as services:
        report = build_basemap(services.layers, services.settings.styles_dir, basemap_id,
                               list(sources),
                               title=dict.fromkeys(("fi", "sv", "en"), title) if title else None)
    if as_json:
        click.echo(json.dumps(report.as_dict(), ensure_ascii=False))
        return
    for layer_id, count in report.layers.items():
        click.echo(f"{layer_id}\t{count} features")
    for path in report.styles:
        click.echo(f"wrote {path}")
    click.echo("restart webmap to offer the new base map")


@main.group()
def styles() -> None:
    """Check and list map styles (styles/*.json, base maps in styles/basemaps/)."""


_STYLES_OPTION = click.option(
    "--styles", "styles_dir", default=None,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="The styles directory (default: WEBMAP_STYLES_DIR); base maps are read from its "
         "basemaps/ folder.")


@styles.command("check")
@_STYLES_OPTION
def check_style_files(styles_dir: Path | None) -> None:
    """Check contrast (3:1) and non-colour cues of every style; exit 1 on any issue.

    Each style is checked over the base maps of the maps that use it (the map files and the
    maps published through the staff API); a style no map uses, over every base map.
    """
    from .styles import StyleCatalogue, StyleError

    with _services() as services:
        catalogue = services.styles if styles_dir is None else StyleCatalogue(styles_dir)
        definitions = services.maps.all()
        try:
            issues = catalogue.check_maps(definitions)
        except StyleError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)
        count = len(catalogue.all())
        issues = _unoffered_bases(services, definitions) + issues
    errors = [issue for issue in issues if issue.severity == "error"]
    for issue in issues:
        if issue.severity == "warning":
            click.echo(f"warning: {issue}", err=True)
    for issue in errors:
        click.echo(str(issue))
    if errors:
        sys.exit(1)
    click.echo(f"{count} styles OK")


def _unoffered_bases(services: Services, definitions: list[Any]) -> list[Any]:
    """A base map whose layers are missing is not offered: an error where a map uses it."""
    from .basemap.service import BasemapNotOffered
    from .styles import StyleIssue

    users: dict[str, list[str]] = {}
    for definition in definitions:
        if definition.base.kind == "rendered" and definition.base.basemap:
            users.setdefault(definition.base.basemap, []).append(definition.id)
    issues = []
    for basemap_id, missing in services.basemaps.unavailable().items():
        what = BasemapNotOffered(basemap_id, missing).detail
        if basemap_id in users:
            issues.append(StyleIssue(style="", rule="missing-basemap", message=(
                f"map{'s' if len(users[basemap_id]) > 1 else ''} "
                f"{', '.join(repr(m) for m in users[basemap_id])}: {what}")))
        else:
            issues.append(StyleIssue(style="", rule="missing-basemap", severity="warning",
                                     message=what))
    return issues


@styles.command("list")
@_STYLES_OPTION
def list_styles(styles_dir: Path | None) -> None:
    """List styles: id, geometry, classes, title."""
    from .maps import text
    from .styles import StyleCatalogue, StyleError

    catalogue = StyleCatalogue(styles_dir or _settings().styles_dir)
    try:
        catalogue.require_usable()
    except StyleError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    for style in catalogue.all().values():
        count = f"{len(style.classes)} class" + ("es" if len(style.classes) > 1 else "")
        click.echo(f"{style.id}\t{style.geometry}\t{count}\t"
                   f"{text(style.title, 'en')}")


@main.group()
def comments() -> None:
    """List, export and purge consultation comments."""


def _known_map(services: Services, map_id: str) -> None:
    """Warn (not fail) about a map that is not defined: its stored comments still count."""
    from .problems import NotFound

    try:
        services.maps.get(map_id)
    except NotFound:
        click.echo(f"warning: map {map_id!r} is not defined; showing its stored comments",
                   err=True)


_STATUS_OPTION = click.option(
    "--status", "statuses", multiple=True,
    type=click.Choice(STATUSES),
    help="Only comments with this status (repeat for several; default: all).")


@comments.command("list")
@click.argument("map_id", metavar="MAP")
@_STATUS_OPTION
def list_comments(map_id: str, statuses: tuple[str, ...]) -> None:
    """List MAP's comments: id, created, status, language, place, text (no personal data)."""
    with _services() as services:
        _known_map(services, map_id)
        found = services.comments.for_staff(map_id, statuses=statuses or STATUSES)

        for comment in found:
            ref = comment.feature_ref()
            place = (f"{ref['collection']}/{ref['id']}" if ref
                     else json.loads(comment.geometry)["type"] if comment.geometry else "")
            preview = " ".join(comment.text.split())
            preview = preview if len(preview) <= 60 else preview[:59] + "…"
            click.echo(f"{comment.id}\t{comment.created}\t{comment.status}\t"
                       f"{comment.language}\t{place}\t{preview}")
    click.echo(f"{len(found)} comments on {map_id}", err=True)


@comments.command("export")
@click.argument("map_id", metavar="MAP")
@click.option("--format", "fmt", type=click.Choice(["geojson", "csv", "gpkg", "zip"]),
              default="geojson", show_default=True,
              help="GeoJSON, CSV (Excel), GeoPackage, or a zip of GeoJSON, CSV and photos.")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path),
              help="File to write (default: standard output; required for gpkg and zip).")
@click.option("--delimiter", type=click.Choice(["semicolon", "comma"]),
              help="CSV separator (default: semicolon when the map's first language is "
                   "Finnish or Swedish, as their Excel expects; else comma).")
@_STATUS_OPTION
def export_comments(map_id: str, fmt: str, output: Path | None, delimiter: str | None,
                    statuses: tuple[str, ...]) -> None:
    """Export MAP's comments with names and e-mails, for staff."""
    import tempfile

    from .comments.export import (
        DELIMITERS,
        default_delimiter,
        feature_collection,
        write_gpkg,
        write_zip,
    )
    from .comments.export import csv_bytes as csv_of

    if fmt in ("gpkg", "zip") and output is None:
        raise click.UsageError(f"a {'GeoPackage' if fmt == 'gpkg' else 'zip'} needs "
                               "--output FILE")
    with _services() as services:
        _known_map(services, map_id)
        found = services.comments.for_staff(map_id, statuses=statuses or STATUSES)
        try:
            language = services.maps.get(map_id).default_language
        except NotFound:
            language = "en"
        separator = DELIMITERS[delimiter] if delimiter else default_delimiter(language)
        if fmt == "zip" and output is not None:
            output.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryDirectory(prefix=".comments-", dir=output.parent) as scratch:
                partial = Path(scratch) / "comments.zip"
                photos = write_zip(found, partial, name=f"{map_id}-comments",
                                   delimiter=separator,
                                   photo=lambda cid, n: services.comments.staff_photo(cid, n)[1])
                os.replace(partial, output)
            click.echo(f"exported {len(found)} comments and {photos} photos on {map_id} to "
                       f"{output}", err=True)
            return

    def csv_bytes(comments: Any) -> bytes:
        return csv_of(comments, delimiter=separator)

    if output is None:
        data = feature_collection(found, personal=True) if fmt == "geojson" else csv_bytes(found)
        click.echo(data, nl=False)
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".comments-", dir=output.parent) as scratch:
        partial = Path(scratch) / f"comments.{fmt}"
        if fmt == "gpkg":
            write_gpkg(found, partial)
        else:
            partial.write_bytes(feature_collection(found, personal=True) if fmt == "geojson"
                                else csv_bytes(found))
        os.replace(partial, output)  # readers see the old file or the whole new one
    click.echo(f"exported {len(found)} comments on {map_id} to {output}", err=True)


@comments.command("report")
@click.argument("map_id", metavar="MAP")
@click.option("--format", "fmt", type=click.Choice(["pdf", "docx", "odt"]), default="pdf",
              show_default=True, help="Tagged PDF to publish, or DOCX / ODT to edit.")
@click.option("--lang", type=click.Choice(["fi", "sv", "en"]),
              help="Language of the report (default: the map's first language).")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="File to write.")
def report(map_id: str, fmt: str, lang: str | None, output: Path) -> None:
    """Write MAP's response report (vastineraportti, samrådsredogörelse): the published
    comments with their maps and responses, without names or e-mail addresses."""
    import tempfile

    from .report.formats import check_format

    kind = check_format(fmt)
    with _services() as services, _problems():
        built = services.reports.build(map_id, lang or services.maps.get(map_id)
                                       .default_language)
        data = kind.write(built)
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=output.parent, prefix=".report-",
                                     delete=False) as partial:
        partial.write(data)
    os.replace(partial.name, output)  # readers see the old file or the whole new one
    click.echo(f"wrote the {built.lang} report on {map_id} ({len(built.comments)} published "
               f"comments, {fmt}) to {output}", err=True)


@comments.command("purge-personal-data")
@click.argument("map_id", metavar="MAP")
@click.option("--force", is_flag=True, help="Purge even though the consultation is open.")
def purge_personal_data(map_id: str, force: bool) -> None:
    """Remove the names, e-mails and photos of MAP's comments once its consultation has
    closed."""
    with _services() as services:
        report = services.comments.purge_personal_data(map_id, force=force)
    click.echo(f"removed personal data from {report.comments} comments on {map_id} "
               f"(names: {report.names}, e-mails: {report.emails}, photos: {report.photos})")


@comments.command("publish-responses")
@click.argument("map_id", metavar="MAP")
@click.option("--link", help="The public page residents are sent to (default: "
                             "WEBMAP_PUBLIC_URL/maps/MAP).")
def publish_responses(map_id: str, link: str | None) -> None:
    """Publish MAP's written responses and queue the messages to residents who asked."""
    with _services() as services, _problems():
        root = services.settings.public_url or "http://127.0.0.1:8000"
        publication = services.comments.publish_responses(
            map_id, link=link or f"{root}/maps/{map_id}")
    click.echo(f"published {publication.responses} responses on {map_id}; "
               f"{publication.queued} messages queued")


@comments.command("notify")
@click.option("--watch", type=float, metavar="SECONDS",
              help="Keep running, sending what is queued every SECONDS.")
def notify(watch: float | None) -> None:
    """Send the queued messages to residents who asked to be told of the responses
    (WEBMAP_SMTP_URL, WEBMAP_MAIL_FROM). A message is marked sent as soon as the SMTP server
    accepts it; failures stay queued for the next run."""
    import time

    from .comments.mail import send_queued

    with _services() as services:
        if not services.settings.smtp_url:
            click.echo("error: WEBMAP_SMTP_URL is not set", err=True)
            sys.exit(2)
        while True:
            report = send_queued(services.comments.storage, services.settings)
            if report.busy:
                click.echo("another sender is running; nothing sent", err=True)
            else:
                click.echo(f"sent {report.sent} messages, {report.failed} failed", err=True)
            if watch is None:
                break
            time.sleep(max(watch, 1.0))
    if report.failed and watch is None:
        sys.exit(1)


@main.group()
def db() -> None:
    """Prepare and upgrade storage: the numbered migrations of PostgreSQL (when
    WEBMAP_DATABASE_URL is set) or of the SQLite database in WEBMAP_DATA_DIR."""


@contextmanager
def _database(*, migrate: bool = False) -> Iterator[Database]:
    """The configured database as it is (nothing migrated unless asked), closed afterwards."""
    from .database import open_database

    settings = _settings()
    with _problems():
        database = open_database(data_dir=settings.data_dir,
                                 database_url=settings.database_url, migrate=migrate)
        try:
            yield database
        finally:
            database.close()


def _migrate() -> None:
    with _database() as database:
        ran = database.migrate()
        states = database.status()
    for migration in ran:
        click.echo(f"applied {migration.label}")
    latest = next((s.label for s in reversed(states) if s.done), "none")
    if ran:
        click.echo(f"database at {latest}: {len(ran)} migrations applied now")
    else:
        click.echo(f"nothing to apply: the database is at {latest}")


@db.command("init")
def db_init() -> None:
    """Prepare empty storage (idempotent): run every migration."""
    _migrate()


@db.command("migrate")
def db_migrate() -> None:
    """Apply the pending migrations and print what ran (safe on several hosts or workers at
    once: they take turns). An embedded installation of the older four-file layout
    (catalogue, comments, staff and maps .sqlite) is brought into one database first."""
    _migrate()


@db.command("status")
def db_status() -> None:
    """List the migrations and whether (on PostgreSQL: when) each ran."""
    with _database() as database:
        states = database.status()
    for state in states:
        when = ("pending" if not state.done else "applied" if state.applied is None
                else f"applied {state.applied.isoformat(timespec='seconds')}")
        newer = "" if state.known else " (by a newer webmap)"
        click.echo(f"{state.label}\t{when}{newer}")
    pending = sum(1 for state in states if not state.done)
    click.echo(f"{len(states) - pending} applied, {pending} pending")


if __name__ == "__main__":
    main()
