"""The repository stands alone and its documentation works as written: every relative link in
the Markdown resolves inside the repository (anchors included), no file points outside it, the
deploy guide explains every parameter and names only real AWS operations, the environments of
samconfig.toml name only real parameters, and every documented local-mode command is one a fresh
clone can run as written."""

from __future__ import annotations

import re
import shlex
import subprocess
import tomllib
from pathlib import Path

import botocore.session
import pytest

from approvals_local.template import read_document

ROOT = Path(__file__).resolve().parents[2]
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)


def committed_files() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=False,
    )
    if listed.returncode != 0:
        pytest.skip("not a git checkout: cannot tell the repository's files")
    return [ROOT / name for name in listed.stdout.decode().split("\0") if name and (ROOT / name).is_file()]


MARKDOWN = sorted(path.relative_to(ROOT).as_posix() for path in committed_files() if path.suffix == ".md")


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"`|\*\*|\[([^\]]*)\]\([^)]*\)", r"\1", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = FENCE.sub("", path.read_text(encoding="utf-8"))
    return {slug(match) for match in re.findall(r"^#{1,6}\s+(.+?)\s*$", text, re.MULTILINE)}


def test_the_markdown_files_are_found() -> None:
    assert {"README.md", "docs/api.md", "docs/deploy.md"} <= set(MARKDOWN)


@pytest.mark.parametrize("document", MARKDOWN)
def test_every_relative_link_resolves_inside_the_repository(document: str) -> None:
    path = ROOT / document
    broken = []
    for target in LINK.findall(FENCE.sub("", path.read_text(encoding="utf-8"))):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # https:, mailto: ...
            continue
        file_part, _, anchor = target.partition("#")
        resolved = (path.parent / file_part).resolve() if file_part else path
        if ROOT not in (resolved, *resolved.parents):
            broken.append(f"{target}: points outside the repository")
        elif not resolved.exists():
            broken.append(f"{target}: no such file")
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            broken.append(f"{target}: no heading #{anchor} in {resolved.relative_to(ROOT)}")
    assert not broken, f"{document}: " + "; ".join(broken)


def test_no_committed_file_points_outside_the_repository() -> None:
    outside = re.compile(r"\.\./shared|/work/")
    found = []
    for path in committed_files():
        if path == Path(__file__).resolve():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        found.extend(
            f"{path.relative_to(ROOT)}:{number}"
            for number, line in enumerate(text.splitlines(), 1)
            if outside.search(line)
        )
    assert not found, found


def test_the_deploy_guide_explains_every_parameter() -> None:
    parameters = set(read_document(ROOT / "template.yaml")["Parameters"])
    guide = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
    table = guide[guide.index("### The parameters") : guide.index("### dev and prod")]
    explained = set(re.findall(r"^\| `(\w+)` \|", table, re.MULTILINE))
    assert explained == parameters


def overrides(text: str) -> dict[str, str]:
    return dict(part.split("=", 1) for part in shlex.split(text))


def test_samconfig_has_dev_and_prod_naming_only_real_parameters() -> None:
    config = tomllib.loads((ROOT / "samconfig.toml").read_text(encoding="utf-8"))
    parameters = set(read_document(ROOT / "template.yaml")["Parameters"])
    assert {"default", "dev", "prod"} <= set(config)
    names = {config[env]["global"]["parameters"]["stack_name"] for env in ("default", "dev", "prod")}
    assert len(names) == 3, "each environment is a stack of its own"
    for env in ("dev", "prod"):
        deploy = config[env]["deploy"]["parameters"]
        assert deploy["capabilities"] == "CAPABILITY_IAM"
        assert set(overrides(deploy["parameter_overrides"])) <= parameters, env
    assert overrides(config["dev"]["deploy"]["parameters"]["parameter_overrides"])["AllowAdminPasswordSignIn"] == "true"
    assert (
        overrides(config["prod"]["deploy"]["parameters"]["parameter_overrides"])["AllowAdminPasswordSignIn"] == "false"
    )
    assert config["prod"]["deploy"]["parameters"]["confirm_changeset"] is True


def aws_commands(text: str) -> list[list[str]]:
    """Every `aws SERVICE OPERATION --option ...` of the text's shell blocks and code spans."""
    blocks = [block.strip("`") for block in FENCE.findall(text)] + re.findall(r"`(aws [^`]+)`", text)
    commands = []
    for block in blocks:
        joined = re.sub(r"\\\n\s*", " ", block)
        for match in re.finditer(r"(?:^|\$\(|[;&|]\s*|\s)(aws [a-z0-9-]+ [a-z0-9-]+[^\n)]*)", joined):
            words = shlex.split(re.sub(r"\$\([^)]*\)|\"[^\"]*\"|'[^']*'", "X", match.group(1)))
            commands.append(words)
    return commands


GLOBAL_OPTIONS = {"query", "output", "region", "profile", "no-cli-pager"}


def test_every_aws_command_of_the_deploy_guide_is_a_real_operation_with_real_options() -> None:
    session = botocore.session.get_session()
    commands = aws_commands((ROOT / "docs" / "deploy.md").read_text(encoding="utf-8"))
    operations = {(words[1], words[2]) for words in commands}
    # The guide's customer set-up, token and teardown commands are all among them.
    assert {
        ("cognito-idp", "admin-create-user"),
        ("cognito-idp", "admin-set-user-password"),
        ("cognito-idp", "admin-add-user-to-group"),
        ("cognito-idp", "admin-get-user"),
        ("cognito-idp", "admin-initiate-auth"),
        ("cloudformation", "describe-stacks"),
        ("dynamodb", "delete-table"),
    } <= operations
    for words in commands:
        service, operation = words[1], words[2]
        model = session.get_service_model("cognito-idp" if service == "cognito-idp" else service)
        name = "".join(part.title() for part in operation.split("-"))
        assert name in model.operation_names, " ".join(words[:3])
        members = set(model.operation_model(name).input_shape.members)
        for option in (word[2:] for word in words[3:] if word.startswith("--")):
            if option in GLOBAL_OPTIONS:
                continue
            member = "".join(part.title() for part in option.removeprefix("no-").split("-"))
            assert member in members, f"{' '.join(words[:3])}: no option --{option}"


LOCAL_COMMAND = re.compile(r"(?<![\w./-])approvals-local (serve|token|seed|invoke)\b")


@pytest.mark.parametrize("document", MARKDOWN)
def test_documented_local_commands_run_from_a_fresh_clone(document: str) -> None:
    """The console script is in .venv/bin, not on PATH: a command written `approvals-local serve`
    fails for everyone who follows the text."""
    text = (ROOT / document).read_text(encoding="utf-8")
    bare = [
        f"{document}:{number}: {line.strip()}"
        for number, line in enumerate(text.splitlines(), 1)
        if LOCAL_COMMAND.search(line)
    ]
    assert not bare, bare
