"""Benchmark: the support page against a hello-world Flask app, served the same way.

Both run under gunicorn with 2 sync workers; load comes from `wrk` (Debian package `wrk`)
with 4 connections for 10 s after a warm-up, in alternating rounds (median reported) so a
busy machine biases neither side. Prints requests/s, p50 and p99 latency for
each and the ratio support/hello. The support page is rendered as a reader gets it: the
full server-rendered form, for a first visit (no cookie, and none set: the form carries no
CSRF token, Continue checks the post's origin).

The same run measures the support page of a running campaign with a goal and an A/B test
of two variants, view counting on (``/?campaign=bench-ab``): as new readers (no cookie:
each request is assigned a variant and sent its cookie) and as returning ones (the variant
cookie sent back). After the servers stop, the views the database counted are compared
with the campaign requests served: equal, or fewer by the counts a worker lost, never more.
Then, in this process (no HTTP, so a busy machine blurs it less), what the campaign adds
to a support page request, and the campaign API's own share (``page_for`` + ``count_view``).

Last, in this process (Flask test client), what the rate limiter's own checks cost a GET
they are not skipped for: ``/remind`` with the limiter on and off, beside the support page,
which skips them (see ``UNLIMITED_ENDPOINTS``).

    .venv/bin/python bench/support_page.py [--seconds 10] [--connections 4]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import timeit
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import migrate, serve, wrk_figures  # noqa: E402
from donations import create_app  # noqa: E402

HELLO_APP = """
from flask import Flask
app = Flask(__name__)

@app.get("/")
def hello():
    return "Hello, World!"
"""


CAMPAIGN_SLUG = "bench-ab"


def load(url: str, seconds: int, connections: int, headers: tuple[str, ...] = ()) -> dict:
    """wrk's figures for the URL, with ``warmup`` the requests its warm-up made."""
    extra = [argument for header in headers for argument in ("-H", header)]
    warmup = subprocess.run(
        ["wrk", "-t1", "-c2", "-d2s", "--latency", *extra, url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    output = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", *extra, url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return wrk_figures(output) | {"warmup": wrk_figures(warmup)["requests"]}


def seed_campaign(database_url: str) -> str:
    """A running campaign with an amount goal (some of it raised) and two variants; return
    a returning reader's variant cookie."""
    from donations.campaigns import services
    from donations.db import db
    from donations.enums import Frequency, GiftStatus, GoalKind, PaymentKind
    from donations.models import Campaign, CampaignVariant, Donor, Gift, Payment

    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "bench-secret"})
    with app.app_context():
        campaign = Campaign(
            slug=CAMPAIGN_SLUG,
            headline="Keep local news free",
            body="Our reporters answer to readers, not to owners.",
            presets='{"once":[1500,3000,6000],"monthly":[500,1000,2000]}',
            goal_kind=GoalKind.AMOUNT,
            goal_target=2000000,
            goal_currency="USD",
        )
        db.session.add(campaign)
        db.session.flush()
        db.session.add(CampaignVariant(campaign=campaign, key="a"))
        db.session.add(
            CampaignVariant(campaign=campaign, key="b", headline="Readers keep us going")
        )
        for number in range(50):
            gift = Gift(
                donor=Donor(email=f"bench{number}@example.org"),
                amount=2500,
                currency="USD",
                frequency=Frequency.ONCE,
                status=GiftStatus.PAID,
                campaign_id=campaign.id,
            )
            db.session.add(
                Payment(
                    gift=gift,
                    kind=PaymentKind.CHARGE,
                    amount=2500,
                    currency="USD",
                    stripe_id=f"pi_bench{number}",
                )
            )
        db.session.commit()
        response = app.test_client().get(f"/?campaign={CAMPAIGN_SLUG}")
        cookie = response.headers.get("Set-Cookie", "")
        if not cookie.startswith(f"{services.VARIANT_COOKIE}="):
            raise SystemExit(f"/?campaign={CAMPAIGN_SLUG} set no variant cookie")
        services.flush_counts()
        db.session.execute(sa.update(CampaignVariant).values(views=0, continues=0))
        db.session.commit()
        db.engine.dispose()
    return cookie.split(";", 1)[0]


def counted_views(database_url: str) -> int:
    from donations.db import db
    from donations.models import CampaignVariant

    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "bench-secret"})
    with app.app_context():
        total = db.session.scalar(sa.select(sa.func.sum(CampaignVariant.views)))
        db.engine.dispose()
    return int(total or 0)


def per_request_ms(client, path: str) -> float:
    assert client.get(path).status_code == 200, path
    return min(timeit.repeat(lambda: client.get(path), number=200, repeat=5)) / 200 * 1000


def limiter_checks(database_url: str) -> None:
    """The limiter's checks on a GET: ``/remind`` with the limiter on, then off."""
    times = {}
    for enabled in (True, False):
        app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "RATELIMIT_ENABLED": enabled})
        client = app.test_client()
        times[enabled] = {path: per_request_ms(client, path) for path in ("/", "/remind")}
    checks = times[True]["/remind"] - times[False]["/remind"]
    page = times[True]["/"]
    print(
        f"rate limiter's checks on a GET (/remind, limiter on - off): {checks:.2f} ms; "
        f"the support page, which skips them: {page:.2f} ms "
        f"({times[False]['/']:.2f} ms with the limiter off); with them they would be "
        f"{checks / (page + checks):.0%} of its time"
    )


def campaign_cost(database_url: str, cookie: str) -> None:
    """In this process, without HTTP: the support page with and without the campaign
    (shuffled rounds, fastest kept), and the campaign API's own share of it."""
    from werkzeug.test import EnvironBuilder

    from donations.campaigns import services

    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "bench-secret"})

    def request(path: str, headers: dict) -> Callable[[], None]:
        environ = EnvironBuilder(path=path, headers=headers).get_environ()
        return lambda: b"".join(app.wsgi_app(dict(environ), lambda *_: None))

    cases = {
        "support": request("/", {}),
        "campaign": request(f"/?campaign={CAMPAIGN_SLUG}", {}),
        "returning": request(f"/?campaign={CAMPAIGN_SLUG}", {"Cookie": cookie}),
    }
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(7):
        for name in random.sample(list(cases), len(cases)):
            times[name].append(timeit.timeit(cases[name], number=300) / 300 * 1000)
    fastest = {name: min(runs) for name, runs in times.items()}
    with app.test_request_context():
        value = cookie.split("=", 1)[1]
        page = services.page_for(CAMPAIGN_SLUG, value)[0]

        def api() -> None:
            services.page_for(CAMPAIGN_SLUG, value)
            services.count_view(page)

        own = min(timeit.repeat(api, number=3000, repeat=5)) / 3000 * 1000
        services.flush_counts()
    print(
        f"in process: support page {fastest['support']:.3f} ms, with the campaign "
        f"{fastest['campaign']:.3f} ms (new reader) / {fastest['returning']:.3f} ms "
        f"(returning); page_for + count_view: {own * 1000:.1f} µs"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install -y wrk")

    workdir = Path(tempfile.mkdtemp(prefix="bench-support-"))
    (workdir / "hello.py").write_text(HELLO_APP)
    env = dict(os.environ)
    env |= {
        "DATABASE_URL": f"sqlite:///{workdir / 'bench.sqlite3'}",
        "SECRET_KEY": "bench-secret",
        "PYTHONPATH": str(ROOT),
    }
    migrate(env, ROOT)
    cookie = seed_campaign(env["DATABASE_URL"])
    servers = {}
    try:
        for name, spec, cwd in (("hello", "hello:app", workdir), ("support", "app:app", ROOT)):
            servers[name] = serve(spec, env, cwd)
        base = {name: f"http://127.0.0.1:{port}/" for name, (_server, port) in servers.items()}
        campaign_url = f"{base['support']}?campaign={CAMPAIGN_SLUG}"
        targets = {
            "hello": (base["hello"], ()),
            "support": (base["support"], ()),
            "campaign": (campaign_url, ()),
            "returning": (campaign_url, (f"Cookie: {cookie}",)),
        }
        rounds: dict[str, list[dict]] = {name: [] for name in targets}
        for _ in range(args.rounds):
            for name, (url, headers) in targets.items():
                rounds[name].append(load(url, args.seconds, args.connections, headers))
    finally:
        for server, _port in servers.values():
            server.terminate()
            server.wait()
    results = {
        name: {key: statistics.median(run[key] for run in runs) for key in runs[0]}
        for name, runs in rounds.items()
    }
    for name, figures in results.items():
        print(
            f"{name:9s} {figures['rps']:8.0f} req/s   p50 {figures['p50']:6.2f} ms   "
            f"p99 {figures['p99']:6.2f} ms   non-2xx {figures['errors']}"
        )
    hello = results["hello"]["rps"]
    print(f"support/hello ratio: {results['support']['rps'] / hello:.0%} (target: 50% or more)")
    for name, who in (("campaign", "new readers"), ("returning", "returning readers")):
        print(
            f"campaign with A/B test ({who})/hello ratio: "
            f"{results[name]['rps'] / hello:.0%} (target: 45% or more)"
        )
    runs = [run for name in ("campaign", "returning") for run in rounds[name]]
    served = sum(run["requests"] + run["warmup"] for run in runs)
    #: requests wrk had sent when its time ran out: served, counted, not in its total
    in_flight = len(runs) * (args.connections + 2)
    counted = counted_views(env["DATABASE_URL"])
    print(
        f"A/B views counted: {counted:,} for {served:,} campaign pages wrk received "
        f"(up to {in_flight} more were in flight when a run stopped): "
        + ("never doubled" if counted <= served + in_flight else "DOUBLED")
    )
    campaign_cost(env["DATABASE_URL"], cookie)
    limiter_checks(env["DATABASE_URL"])


if __name__ == "__main__":
    main()
