"""approvals-admin: operations on a deployed stack (or local mode) from the command line.

approvals-admin import FILE --stack NAME
approvals-admin import FILE --table NAME [--endpoint URL]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from approval_core.adapters.directory import DynamoDirectoryWriter

from .importer import UnreadableInput, run_import

DIRECTORY_OUTPUT = "DirectoryTableName"  # the stack's output naming its directory table
# Not the functions' tight budget: an import has time, and DynamoDB asks a bulk writer to back off
# (adaptive mode slows the client down when it is throttled).
CLIENT_CONFIG = Config(retries={"mode": "adaptive", "max_attempts": 10}, connect_timeout=5, read_timeout=60)


class CliError(Exception):
    pass


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return int(args.command(args))
    except CliError as error:
        print(f"approvals-admin: {error}", file=sys.stderr)
        return 2
    except (BotoCoreError, ClientError) as error:
        print(f"approvals-admin: DynamoDB refused: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\napprovals-admin: interrupted; run the same command again to resume", file=sys.stderr)
        return 130


def import_command(args: argparse.Namespace) -> int:
    path: Path = args.file
    if not path.is_file():
        raise CliError(f"{path}: no such file")
    table = _table(args)
    client = boto3.client("dynamodb", endpoint_url=args.endpoint or None, config=CLIENT_CONFIG)
    writer = DynamoDirectoryWriter(client, table)
    target = f"{args.endpoint or 'aws'}/{table}"
    try:
        summary = run_import(
            path,
            writer,
            target,
            restart=args.restart,
            progress=sys.stderr if sys.stderr.isatty() or args.progress else None,
        )
    except UnreadableInput as error:
        raise CliError(str(error)) from None
    resumed = f" (resumed after entry {summary.resumed_from})" if summary.resumed_from else ""
    reasons = ", ".join(f"{count} {reason}" for reason, count in sorted(summary.skipped_reasons.items()))
    print(
        f"imported {path} into {table}{resumed}: {summary.written} written, {summary.skipped} skipped"
        f"{f' ({reasons})' if reasons else ''}, {summary.refused} refused"
        + (f"; {summary.companies_updated} members brought up to date" if summary.companies_updated else "")
    )
    return 1 if summary.refused else 0


def _table(args: argparse.Namespace) -> str:
    if args.stack and (args.table or args.endpoint):
        raise CliError("--stack finds the table itself: give either --stack or --table [--endpoint]")
    if args.table:
        return str(args.table)
    if not args.stack:
        raise CliError("say where to import: --stack NAME, or --table NAME [--endpoint URL]")
    try:
        stacks = boto3.client("cloudformation").describe_stacks(StackName=args.stack)["Stacks"]
    except (BotoCoreError, ClientError) as error:
        raise CliError(f"cannot read stack {args.stack}: {error}") from None
    outputs = {output["OutputKey"]: output["OutputValue"] for output in stacks[0].get("Outputs", [])}
    if DIRECTORY_OUTPUT not in outputs:
        raise CliError(f"stack {args.stack} has no {DIRECTORY_OUTPUT} output: is it this service's?")
    return str(outputs[DIRECTORY_OUTPUT])


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="approvals-admin", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="name", required=True, metavar="COMMAND")
    load = commands.add_parser("import", help="load customers, companies and carts into the directory")
    load.add_argument("file", type=Path, metavar="FILE", help="a seed-format JSON file, or JSON Lines")
    load.add_argument("--stack", metavar="NAME", help="the CloudFormation stack whose directory table to fill")
    load.add_argument("--table", metavar="NAME", help="the directory table itself")
    load.add_argument("--endpoint", metavar="URL", help="DynamoDB endpoint (local mode, DynamoDB Local)")
    load.add_argument("--restart", action="store_true", help="start from the top, not where an earlier run stopped")
    load.add_argument("--progress", action="store_true", help="show the progress line even when not on a terminal")
    load.set_defaults(command=import_command)
    return parser


if __name__ == "__main__":
    sys.exit(main())
