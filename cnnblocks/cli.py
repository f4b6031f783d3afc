"""The `cnnblocks` command line."""

import argparse
import sys

import cnnblocks


def _cmd_list(args):
    from cnnblocks import blocks
    print("blocks:")
    for name in blocks.__all__:
        print(f"  {name}")
    return 0


def build_parser():
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="cnnblocks", description="Milestone CNN building blocks and architectures.")
    parser.add_argument("--version", action="version", version=f"cnnblocks {cnnblocks.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    p = sub.add_parser("list", help="list the blocks and the registered architectures")
    p.set_defaults(func=_cmd_list)
    return parser


def main(argv=None):
    """Entry point of the `cnnblocks` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
