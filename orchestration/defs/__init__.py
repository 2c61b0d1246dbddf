"""One sub-package per source area, plus the dbt area; each exposes ``defs``."""
