"""cfn-lint 1.58.0 with one lookup mended, so that its property rules read registry schemas.

`cfn-lint --registry-schemas DIR` loads the schemas (the type is then known: no E3006), but the
rules that validate a resource's properties (E3002, E3003, E3012, E3030, E3031, E3034, ...) and its
`Fn::GetAtt`s (E1010) find schemas through `ProviderSchemaManager.get_resource_schemas_by_regions`,
which looks only in the bundled region lists and so never yields a registry schema. Here it yields
the registry schema of a registry type for every region asked, as `get_resource_schema` already
does; everything else is cfn-lint's. Run as `python -m tests.cfn_lint_registry ARGS` (cfn-lint's).
For the tests of the kit's registry schema only; users run plain cfn-lint.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from typing import Any

import cfnlint.schema.manager  # type: ignore[import-untyped]
from cfnlint.runner.cli import main  # type: ignore[import-untyped]

_bundled = cfnlint.schema.manager.ProviderSchemaManager.get_resource_schemas_by_regions


def _with_registry(self: Any, resource_type: str, regions: Sequence[str]) -> Iterator[tuple[list[str], Any]]:
    if resource_type in self._registry_schemas:
        yield list(regions), self._registry_schemas[resource_type]
        return
    yield from _bundled(self, resource_type, regions)


cfnlint.schema.manager.ProviderSchemaManager.get_resource_schemas_by_regions = _with_registry

if __name__ == "__main__":
    sys.exit(main())
