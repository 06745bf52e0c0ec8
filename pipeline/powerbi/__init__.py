"""Power BI: a Power BI Project (PBIP) with a TMDL semantic model generated from the dbt manifest."""

from pipeline.powerbi.tmdl import published_schema_from_manifest, write_pbip, write_project

__all__ = ["published_schema_from_manifest", "write_pbip", "write_project"]
