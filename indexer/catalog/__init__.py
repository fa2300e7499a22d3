"""The factory catalog: typed records and the readers that validate catalog files."""
from indexer.catalog.records import (
    Brand, BrandProduct, Catalog, Endorsement, EndorsementType, Factory, PriceTier, Product, RecordWarning, Reject,
)

__all__ = ["Brand", "BrandProduct", "Catalog", "Endorsement", "EndorsementType", "Factory",
           "PriceTier", "Product", "RecordWarning", "Reject"]
