"""Run by Debian's /usr/bin/python3 with PyQGIS (not the project's venv), headless
(QT_QPA_PLATFORM=offscreen): open collections of a live webmap through QGIS's OAPIF provider
and print what QGIS sees as one JSON object. Used by tests/clients/test_qgis_client.py.

    python3 qgis_oapif.py URL COLLECTION [COLLECTION ...]
"""

from __future__ import annotations

import json
import sys
from typing import Any

from qgis.core import (  # type: ignore[import-not-found]
    Qgis,
    QgsApplication,
    QgsFeatureRequest,
    QgsVectorDataProvider,
    QgsVectorLayer,
)

CAPABILITIES = ("AddFeatures", "ChangeAttributeValues", "ChangeGeometries", "DeleteFeatures")
FILTER = '"floors" = 3'


def describe(url: str, collection: str) -> dict[str, Any]:
    """What QGIS makes of one collection: validity, count, fields, extent, CRS, filters and
    the editing capabilities its provider offers."""
    layer = QgsVectorLayer(f"url='{url}' typename='{collection}'", collection, "OAPIF")
    if not layer.isValid():
        return {"valid": False}
    provider = layer.dataProvider()
    capabilities = provider.capabilities()
    extent = layer.extent()
    found: dict[str, Any] = {
        "valid": True,
        "feature_count": layer.featureCount(),
        "features_read": sum(1 for _ in layer.getFeatures()),
        "fields": [field.name() for field in layer.fields()],
        "crs": layer.crs().authid(),
        "extent": [extent.xMinimum(), extent.yMinimum(), extent.xMaximum(), extent.yMaximum()],
        "capabilities": {name: bool(capabilities & getattr(QgsVectorDataProvider, name))
                         for name in CAPABILITIES},
        "request_filter": sum(1 for _ in layer.getFeatures(
            QgsFeatureRequest().setFilterExpression(FILTER))),
    }
    national = QgsVectorLayer(f"url='{url}' typename='{collection}' srsname='EPSG:3067'",
                              collection, "OAPIF")
    found["srsname_3067"] = {"valid": national.isValid(), "crs": national.crs().authid(),
                             "first_bbox": _first_bbox(national)}
    found["subset_accepted"] = layer.setSubsetString(FILTER)
    # Counted by iterating: featureCount() after a subset string crashes QGIS 3.22 here.
    found["subset_filter"] = sum(1 for _ in layer.getFeatures())
    return found


def _first_bbox(layer: Any) -> list[float] | None:
    for feature in layer.getFeatures(QgsFeatureRequest().setLimit(1)):
        box = feature.geometry().boundingBox()
        return [box.xMinimum(), box.yMinimum(), box.xMaximum(), box.yMaximum()]
    return None


def main(url: str, collections: list[str]) -> None:
    app = QgsApplication([], False)
    app.initQgis()
    result = {"qgis_version": Qgis.QGIS_VERSION, "qgis_version_int": Qgis.QGIS_VERSION_INT,
              "collections": {name: describe(url, name) for name in collections}}
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
