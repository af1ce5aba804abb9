"""The mesh-wide catalog: every data product across domains, with its contract and current quality.

It reads each domain's `catalog://<domain>` resource through MCP, exactly as an MCP client would.
"""

from ._catalog import Catalog, CatalogEntry, read_catalog, render_catalog

__all__ = ["Catalog", "CatalogEntry", "read_catalog", "render_catalog"]
