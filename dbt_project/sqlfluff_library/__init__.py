"""dbt's context for sqlfluff's jinja templater (``.sqlfluff``: library_path), as a package:
its submodules (``adapter``, ``dbt``, ``target``) and the functions below are top-level names
in the templates sqlfluff lints."""


def env_var(name: str, default: str | None = None) -> str:
    """dbt's ``env_var``: the lint renders every model as a default environment would."""
    return default if default is not None else ""
