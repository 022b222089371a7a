"""Validates YAML files against vendored JSON schemas (infra/schemas/).

    python check_schemas.py SCHEMA.json FILE.yml [FILE.yml ...]

Called by check-deploy.sh for docker-compose.yml (the Compose
Specification's schema) and the GitHub Actions workflows. Prints every
violation with its path in the document; exits 1 if there is one.
"""

import json
import sys

import jsonschema
import yaml


def load(path):
    with open(path, encoding="utf-8") as f:
        document = yaml.safe_load(f)
    # YAML 1.1 reads a workflow's bare `on:` key as the boolean true.
    if isinstance(document, dict) and True in document:
        document["on"] = document.pop(True)
    return document


def main(schema_path, *paths):
    with open(schema_path, encoding="utf-8") as f:
        schema = json.load(f)
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    validator = validator_class(schema)
    failed = False
    for path in paths:
        errors = sorted(validator.iter_errors(load(path)), key=lambda e: list(e.absolute_path))
        for error in errors:
            where = "/".join(str(p) for p in error.absolute_path) or "(document)"
            print(f"{path}: {where}: {error.message}", file=sys.stderr)
        failed |= bool(errors)
        if not errors:
            print(f"{path}: valid against {schema_path}")
    return 1 if failed else 0


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    sys.exit(main(*sys.argv[1:]))
