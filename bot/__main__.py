"""Command line: `python -m bot [run|dashboard|db upgrade|db copy URL|seed-demo|roles|staff|report|chat|webpush-keys]`."""
from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from bot import redaction
from bot.config import load_settings

logger = logging.getLogger("bot")

NO_TOKEN_HELP = """\
Coprod is running in local mode (no TELEGRAM_TOKEN set).
  Chat with it in a browser:         http://localhost:8000/chat
  or in another terminal:            make chat
  To connect Telegram: talk to @BotFather on Telegram, send /newbot, and put
  the token it gives you in .env as TELEGRAM_TOKEN=..., then run `make run` again.
"""


def _run(_args: argparse.Namespace) -> int:
    settings = load_settings()
    if not settings.telegram_token:
        print(NO_TOKEN_HELP, flush=True)
        from bot.outgoing import run_without_telegram

        asyncio.run(run_without_telegram(settings))
        return 0
    from bot.telegram.app import run

    run(settings)
    return 0


def _db(args: argparse.Namespace) -> int:
    from bot.migrate import upgrade

    if args.action == "copy":
        from bot.db_copy import TargetNotEmpty, copy_database

        if not args.target:
            print("Usage: python -m bot db copy TARGET_DATABASE_URL (the source is DATABASE_URL)")
            return 2
        try:
            copied = copy_database(load_settings().database_url, args.target)
        except TargetNotEmpty as exc:
            print(f"The target database already has data (table {exc}); copy into an empty one.")
            return 1
        print(f"Copied {sum(copied.values())} rows in {len(copied)} tables.")
        return 0
    upgrade(load_settings().database_url, args.target or "head")
    return 0


def _seed(args: argparse.Namespace) -> int:
    from bot.db import get_database
    from bot.services.demo import seed_demo, seed_demo_reports

    settings = load_settings()
    with get_database(settings.database_url).session() as session:
        created = seed_demo(session, settings.neighbourhoods)
        if created:
            seed_demo_reports(session, settings.media_dir, settings.max_photo_bytes)
    print("demo city loaded" if created else "database already has tasks; demo not loaded")
    return 0


def _report(args: argparse.Namespace) -> int:
    """Staff's status change from a terminal (the dashboard does the same with a browser)."""
    from bot.db import get_database
    from bot.services.errors import InvalidInput
    from bot.services.notifications import Rules
    from bot.services.workflow import parse_reference, set_status

    settings = load_settings()
    key = parse_reference(args.reference)
    try:
        with get_database(settings.database_url).session() as session:
            report = set_status(session, key or 0, args.status, Rules.from_settings(settings), args.note)
            print(f"{report.reference} is now {report.status}")
    except InvalidInput:
        print(f"no report {args.reference} or no status {args.status}", file=sys.stderr)
        return 2
    return 0


def _roles(args: argparse.Namespace) -> int:
    """`roles grant|revoke TELEGRAM_ID coordinator`: who may use the coordinator commands."""
    from bot.db import get_database
    from bot.services import roles
    from bot.services.errors import InvalidInput

    settings = load_settings()
    try:
        with get_database(settings.database_url).session() as session:
            if args.action == "grant":
                changed = roles.grant(session, args.telegram_id, args.role, by="command line")
            else:
                changed = roles.revoke(session, args.telegram_id, args.role, by="command line")
    except InvalidInput:
        print(f"not a Telegram user id or role: {args.telegram_id} {args.role}", file=sys.stderr)
        return 2
    verb = "granted to" if args.action == "grant" else "revoked from"
    print(f"{args.role} {verb} {args.telegram_id}" if changed else "nothing to change")
    return 0


def _staff(args: argparse.Namespace) -> int:
    """`staff add EMAIL --role staff`: the password is asked twice, never on the command line."""
    import getpass

    from bot.db import get_database
    from bot.services import staff
    from bot.services.errors import InvalidInput

    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("Password (10 characters or more): ")
        if getpass.getpass("Again: ") != password:
            print("the two passwords differ", file=sys.stderr)
            return 2
    try:
        with get_database(load_settings().database_url).session() as session:
            staff.add(session, args.email, password, args.role)
    except InvalidInput as exc:
        print(f"not added: {exc} (a valid new email, a role, a password of 10+ characters)", file=sys.stderr)
        return 2
    print(f"{args.email} can now log in as {args.role}")
    return 0


def _dashboard(args: argparse.Namespace) -> int:
    from bot.web.app import serve

    settings = load_settings()
    print(f"Staff dashboard on http://{settings.dashboard_host}:{settings.dashboard_port}", flush=True)
    serve(settings)
    return 0


def _chat(args: argparse.Namespace) -> int:
    from bot.local_chat import chat

    asyncio.run(chat(load_settings().rasa_url, args.sender))
    return 0


def _webpush_keys(args: argparse.Namespace) -> int:
    from bot.webchat.push import new_keys

    private, public = new_keys()
    print(f"WEBPUSH_VAPID_PRIVATE_KEY={private}\n# public key (browsers get it from the chat page): {public}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    parser.add_argument("--log-level", default="INFO")
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("run", help="run the bridge (default)").set_defaults(func=_run)
    db = commands.add_parser("db", help="database migrations")
    db.add_argument("action", choices=["upgrade", "copy"])
    db.add_argument("target", nargs="?", help="upgrade: a revision (head); copy: the empty database to copy into")
    db.set_defaults(func=_db)
    commands.add_parser("seed-demo", help="load the demo city if empty").set_defaults(func=_seed)
    report = commands.add_parser("report", help="move a report on, e.g. `report R-1001 resolved --note ...`")
    report.add_argument("reference")
    report.add_argument("status")
    report.add_argument("--note", default=None, help="public note sent to the reporter")
    report.set_defaults(func=_report)
    role = commands.add_parser("roles", help="grant or revoke a role, e.g. `roles grant 123456789 coordinator`")
    role.add_argument("action", choices=["grant", "revoke"])
    role.add_argument("telegram_id")
    role.add_argument("role", choices=["coordinator"])
    role.set_defaults(func=_roles)
    account = commands.add_parser("staff", help="add a dashboard account: `staff add EMAIL --role staff`")
    account.add_argument("action", choices=["add"])
    account.add_argument("email")
    account.add_argument("--role", choices=["staff", "coordinator", "admin"], default="staff")
    account.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    account.set_defaults(func=_staff)
    commands.add_parser("dashboard", help="run the staff dashboard").set_defaults(func=_dashboard)
    chat = commands.add_parser("chat", help="chat with the running assistant in this terminal")
    chat.add_argument("--sender", default=None)
    chat.set_defaults(func=_chat)
    commands.add_parser("webpush-keys", help="make a key pair for web chat notifications").set_defaults(func=_webpush_keys)
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    redaction.install(load_settings())
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one INFO line per Bot API request is noise
    return int(args.func(args) if args.command else _run(args))


if __name__ == "__main__":
    sys.exit(main())
