#!/usr/bin/env python3
"""Check that this checkout is one tag away from a release (run by ``scripts/test.sh`` and the release workflow).

1. **Versions**: ``pyproject.toml``'s version (the one source of truth) == ``manifest.json``'s ``version`` == its
   ``bms-gateway==`` requirement pin == the tag (``--tag vX.Y.Z``, or ``GITHUB_REF_NAME`` when ``GITHUB_REF_TYPE`` is
   ``tag``); ``CHANGELOG.md`` has a heading for the version, dated (``## [X.Y.Z] - YYYY-MM-DD``) when tagged.
2. **Library**: sdist + wheel built with the declared build backend (``python -m build``, from a copy of the
   checkout, so the checkout stays clean; build isolation fetches setuptools from the package index), ``twine check
   --strict``, the licence in both; the wheel installs with its dependencies into a new, empty venv and
   ``bmsgw --version`` / ``bmsgw vendors`` run from it (outside the checkout) and list every declared vendor.
3. **HACS zip** (``scripts/build_release.py``'s builder): exactly the files of ``custom_components/bms_gateway``
   that git tracks or would track (``git ls-files --cached --others --exclude-standard``), at the zip's root, with
   no bytecode, caches or tests.
4. **Workflows** (``.github/workflows``): parse as YAML and use the actions and steps the release relies on;
   ``actionlint`` runs too when it is on PATH.

``--out DIR`` keeps the artifacts: ``DIR/pypi/`` (sdist + wheel, what is published) and ``DIR/bms_gateway.zip``.
Exit 1 with every problem listed when anything is wrong.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import tomllib
import zipfile
from collections.abc import Callable, Iterator
from email.parser import Parser
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import build_release
from build_release import COMPONENT, DISTRIBUTION, ROOT

WORKFLOWS = ROOT / ".github" / "workflows"
#: Never copied into the build tree: caches, environments, earlier builds, browser tooling (as tests/test_wheel.py).
SKIP = shutil.ignore_patterns(
    *(".git", ".venv", ".demo", "dist", "build", "release", "*.egg-info", "test-output"),
    *("__pycache__", "*.pyc", ".*_cache", "node_modules"),
)
#: Path parts that must never be in the HACS zip.
ZIP_JUNK = re.compile(r"(^|/)(__pycache__|tests?|\.[^/]*_cache|\.DS_Store)(/|$)|\.py[co]$|~$|\.(orig|rej|swp)$")


class Problems(list[str]):
    """The problems found so far, each one line."""

    def check(self, ok: bool, message: str) -> bool:
        """Record ``message`` unless ``ok``; return ``ok``."""
        if not ok:
            self.append(message)
        return ok


def run(*cmd: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``cmd``; its output is captured (shown on failure by the caller)."""
    return subprocess.run([str(c) for c in cmd], cwd=cwd, capture_output=True, text=True, timeout=600, check=False)


def failed(step: str, proc: subprocess.CompletedProcess[str]) -> str:
    """A problem line for a failed command, with the tail of its output."""
    tail = (proc.stdout + proc.stderr).strip().splitlines()[-8:]
    return f"{step} failed (exit {proc.returncode}):\n    " + "\n    ".join(tail)


def tag_version(tag: str | None) -> str | None:
    """The version a tag names (``v1.2.3`` -> ``1.2.3``); the tag from the GitHub environment when not given."""
    if tag is None and os.environ.get("GITHUB_REF_TYPE") == "tag":
        tag = os.environ.get("GITHUB_REF_NAME")
    if not tag:
        return None
    return tag[1:] if tag.startswith("v") else tag


def check_versions(problems: Problems, tag: str | None) -> str:
    """Step 1; returns the project version."""
    version = build_release.project_version()
    problems.extend(build_release.version_problems(version))
    if tag is not None:
        problems.check(tag == version, f"the tag names version {tag!r}, pyproject.toml says {version!r}")
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    heading = re.search(rf"^## \[{re.escape(version)}\](.*)$", changelog, re.MULTILINE)
    if problems.check(heading is not None, f"CHANGELOG.md has no '## [{version}]' heading") and tag is not None:
        assert heading is not None
        dated = re.fullmatch(r" - \d{4}-\d{2}-\d{2}", heading.group(1))
        problems.check(dated is not None, f"CHANGELOG.md: date the '## [{version}]' heading (YYYY-MM-DD) to tag it")
    hacs = build_release.load_json(ROOT / "hacs.json")
    problems.check(hacs.get("zip_release") is True, "hacs.json: zip_release must be true")
    problems.check(hacs.get("filename") == "bms_gateway.zip", "hacs.json: filename must be bms_gateway.zip")
    return version


def build_dists(problems: Problems, work: Path, version: str) -> tuple[Path, Path] | None:
    """Step 2a: sdist and wheel from a copy of the checkout; their paths."""
    source, out = work / "source", work / "dist"
    shutil.copytree(ROOT, source, ignore=SKIP)
    proc = run(sys.executable, "-m", "build", "--sdist", "--wheel", "--outdir", out, source)
    if not problems.check(proc.returncode == 0, failed("python -m build", proc)):
        return None
    name = DISTRIBUTION.replace("-", "_")
    sdist, wheel = out / f"{name}-{version}.tar.gz", out / f"{name}-{version}-py3-none-any.whl"
    built = sorted(p.name for p in out.iterdir())
    if not problems.check(built == sorted([sdist.name, wheel.name]), f"build wrote {built}"):
        return None
    return sdist, wheel


def check_dists(problems: Problems, sdist: Path, wheel: Path, version: str) -> None:
    """Step 2b: twine check, metadata and licence of both."""
    proc = run(sys.executable, "-m", "twine", "check", "--strict", sdist, wheel)
    problems.check(proc.returncode == 0, failed("twine check --strict", proc))
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        (meta_name,) = [n for n in names if n.endswith(".dist-info/METADATA")]
        meta = Parser().parsestr(zf.read(meta_name).decode())
    problems.check(meta["Version"] == version, f"wheel METADATA Version {meta['Version']}")
    problems.check(meta["License-Expression"] == "Apache-2.0", "wheel METADATA: License-Expression is not Apache-2.0")
    problems.check(meta.get_all("License-File") == ["LICENSE"], "wheel METADATA: License-File is not LICENSE")
    problems.check(
        any(n.endswith(".dist-info/licenses/LICENSE") for n in names), "the wheel does not carry the LICENSE file"
    )
    with tarfile.open(sdist) as tf:
        members = set(tf.getnames())
    top = sdist.name.removesuffix(".tar.gz")
    for required in ("LICENSE", "README.md", "pyproject.toml", "vendor_plugins/__init__.py"):
        problems.check(f"{top}/{required}" in members, f"the sdist lacks {required}")


def check_install(problems: Problems, work: Path, wheel: Path, version: str) -> None:
    """Step 2c: the wheel and its dependencies (from the package index) in a new, empty venv; bmsgw runs."""
    venv = work / "venv"
    proc = run(sys.executable, "-m", "venv", venv)
    if not problems.check(proc.returncode == 0, failed("python -m venv", proc)):
        return
    python, bmsgw = venv / "bin" / "python", venv / "bin" / "bmsgw"
    proc = run(python, "-m", "pip", "install", "--quiet", wheel)
    if not problems.check(proc.returncode == 0, failed("pip install <wheel> (with its dependencies)", proc)):
        return
    outside = work / "elsewhere"  # not the checkout: its vendor_plugins must not shadow the installed one
    outside.mkdir()
    proc = run(python, "-c", "import vendor_plugins; print(vendor_plugins.__file__)", cwd=outside)
    problems.check(str(venv) in proc.stdout, f"vendor_plugins imported from {proc.stdout.strip()!r}, not the venv")
    proc = run(bmsgw, "--version", cwd=outside)
    problems.check(proc.stdout.strip() == f"bmsgw {version}", f"bmsgw --version printed {proc.stdout.strip()!r}")
    proc = run(bmsgw, "vendors", cwd=outside)
    if problems.check(proc.returncode == 0, failed("bmsgw vendors", proc)):
        declared = declared_vendors()
        listed = {line.split()[0] for line in proc.stdout.splitlines()[2:] if line.strip()}
        problems.check(listed == declared, f"bmsgw vendors lists {sorted(listed)}, not {sorted(declared)}")


def declared_vendors() -> set[str]:
    """The vendor entry points pyproject.toml declares."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return set(project["entry-points"]["bms_gateway.vendors"])


def tracked_component_files() -> list[str] | None:
    """The integration's files git tracks or would track (relative to the folder); ``None`` without git."""
    proc = run("git", "ls-files", "--cached", "--others", "--exclude-standard", "--", COMPONENT, cwd=ROOT)
    if proc.returncode != 0:
        return None
    prefix = COMPONENT.relative_to(ROOT).as_posix() + "/"
    return sorted(line.removeprefix(prefix) for line in proc.stdout.splitlines() if (ROOT / line).is_file())


def check_zip(problems: Problems, work: Path) -> Path:
    """Step 3: the HACS zip holds exactly the integration folder."""
    zip_path = build_release.build_zip(work / "zip")
    with zipfile.ZipFile(zip_path) as zf:
        names = sorted(zf.namelist())
    problems.check("manifest.json" in names, "the zip has no manifest.json at its root")
    bad = [n for n in names if ZIP_JUNK.search(n) or n.startswith(("/", "custom_components/")) or ".." in n]
    problems.check(not bad, f"the zip holds files outside the integration or junk: {bad}")
    expected = tracked_component_files()
    if expected is None:
        print("  (no git here: the zip is checked against the junk rules only)", file=sys.stderr)
    else:
        extra, missing = sorted(set(names) - set(expected)), sorted(set(expected) - set(names))
        problems.check(not extra, f"the zip holds files git does not track in the integration folder: {extra}")
        problems.check(not missing, f"the zip lacks files of the integration folder: {missing}")
    return zip_path


def _steps(workflow: dict[Any, Any]) -> Iterator[dict[str, Any]]:
    for job in (workflow.get("jobs") or {}).values():
        yield from job.get("steps") or []


def _uses(workflow: dict[Any, Any]) -> set[str]:
    return {str(step["uses"]).split("@", 1)[0] for step in _steps(workflow) if "uses" in step}


def _runs(workflow: dict[Any, Any]) -> str:
    return "\n".join(str(step.get("run", "")) for step in _steps(workflow))


def _trigger(workflow: dict[Any, Any]) -> Any:
    return workflow.get("on", workflow.get(True))  # YAML 1.1 (PyYAML) reads a bare `on` key as True


def check_workflows(problems: Problems) -> None:
    """Step 4: the workflows parse and do what the release relies on."""
    import yaml  # type: ignore[import-untyped]  # PyYAML comes with Home Assistant, without stubs

    flows: dict[str, dict[Any, Any]] = {}
    for name in ("tests.yml", "validate.yml", "release.yml"):
        path = WORKFLOWS / name
        if not problems.check(path.is_file(), f".github/workflows/{name} is missing"):
            continue
        try:
            flows[name] = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as err:
            problems.append(f".github/workflows/{name} is not valid YAML: {err}")
    if "tests.yml" in flows:
        flow = flows["tests.yml"]
        problems.check({"push", "pull_request"} <= set(_trigger(flow) or {}), "tests.yml: run on push and pull_request")
        problems.check({"actions/checkout", "actions/setup-python"} <= _uses(flow), "tests.yml: checkout, setup-python")
        problems.check("scripts/test.sh" in _runs(flow), "tests.yml does not run scripts/test.sh")
        problems.check("3.14" in yaml.safe_dump(flow), "tests.yml does not set up Python 3.14")
        minimum = build_release.load_json(ROOT / "hacs.json")["homeassistant"]
        matrix = [job.get("strategy", {}).get("matrix", {}) for job in (flow.get("jobs") or {}).values()]
        claimed = {str(entry.get("home-assistant")) for m in matrix for entry in m.get("include", [])}
        problems.check(minimum in claimed, f"tests.yml: no matrix entry for hacs.json's {minimum} ({claimed})")
    if "validate.yml" in flows:
        flow = flows["validate.yml"]
        uses = _uses(flow)
        problems.check("home-assistant/actions/hassfest" in uses, "validate.yml does not run hassfest")
        hacs = [s for s in _steps(flow) if str(s.get("uses", "")).startswith("hacs/action@")]
        problems.check(
            bool(hacs) and hacs[0].get("with", {}).get("category") == "integration",
            "validate.yml: hacs/action with category integration",
        )
    if "release.yml" in flows:
        check_release_workflow(problems, flows["release.yml"])
    actionlint = shutil.which("actionlint")
    if actionlint is None:
        print("  actionlint: not on PATH, skipped (the validate workflow runs it)", file=sys.stderr)
    else:
        proc = run(actionlint, *sorted(WORKFLOWS.glob("*.yml")), cwd=ROOT)
        problems.check(proc.returncode == 0, failed("actionlint", proc))


def check_release_workflow(problems: Problems, flow: dict[Any, Any]) -> None:
    """The release workflow: v* tags, this check, trusted publishing without a token, the zip on the release."""
    trigger = _trigger(flow) or {}
    tags = (trigger.get("push") or {}).get("tags") or []
    problems.check(tags == ["v*"], f"release.yml: run on v* tags (has {tags})")
    problems.check("scripts/check_release.py" in _runs(flow), "release.yml does not run scripts/check_release.py")
    jobs = flow.get("jobs") or {}
    publishing = [
        j for j in jobs.values() if any("pypa/gh-action-pypi-publish@" in str(s.get("uses")) for s in j["steps"])
    ]
    if problems.check(len(publishing) == 1, "release.yml: one job publishes with pypa/gh-action-pypi-publish"):
        job = publishing[0]
        problems.check((job.get("permissions") or {}).get("id-token") == "write", "release.yml: id-token: write")
        environment = job.get("environment")
        env_name = environment.get("name") if isinstance(environment, dict) else environment
        problems.check(env_name == "pypi", "release.yml: the publishing job runs in the 'pypi' environment")
        for step in job["steps"]:
            given = set(step.get("with") or {})
            problems.check(not given & {"password", "user"}, "release.yml: trusted publishing takes no token")
    releasing = [s for s in _steps(flow) if str(s.get("uses", "")).startswith("softprops/action-gh-release@")]
    if problems.check(bool(releasing), "release.yml: attach the zip with softprops/action-gh-release"):
        files = str((releasing[0].get("with") or {}).get("files", ""))
        problems.check("bms_gateway.zip" in files, "release.yml: the GitHub release does not get bms_gateway.zip")


def timed(label: str, step: Callable[[], Any]) -> Any:
    """Run one step, printing how long it took."""
    start = time.monotonic()
    result = step()
    print(f"  {label}: {time.monotonic() - start:.1f} s", file=sys.stderr)
    return result


def main(argv: list[str] | None = None) -> int:
    """Run every check; exit 1 listing the problems."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tag", help="the release tag (vX.Y.Z); default: GITHUB_REF_NAME on a tag build")
    parser.add_argument("--out", type=Path, help="keep the artifacts: OUT/pypi/ (sdist, wheel), OUT/bms_gateway.zip")
    args = parser.parse_args(argv)
    problems = Problems()
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="bms-release-") as tmp:
        work = Path(tmp)
        version = timed("versions", lambda: check_versions(problems, tag_version(args.tag)))
        dists = timed("sdist + wheel", lambda: build_dists(problems, work, version))
        if dists is not None:
            timed("twine check, metadata", lambda: check_dists(problems, dists[0], dists[1], version))
            timed("wheel in a new venv, bmsgw", lambda: check_install(problems, work, dists[1], version))
        zip_path = timed("HACS zip", lambda: check_zip(problems, work))
        timed("workflows", lambda: check_workflows(problems))
        if args.out is not None and not problems and dists is not None:
            (args.out / "pypi").mkdir(parents=True, exist_ok=True)
            for path in dists:
                shutil.copy2(path, args.out / "pypi" / path.name)
            shutil.copy2(zip_path, args.out / zip_path.name)
    if problems:
        print(f"check_release: {len(problems)} problem(s):", file=sys.stderr)
        for problem in problems:
            print(f"  - {problem}", file=sys.stderr)
        return 1
    print(f"check_release: {DISTRIBUTION} {version} is releasable ({time.monotonic() - start:.0f} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
