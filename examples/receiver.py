"""A webhook receiver for provisio events, built on `provisio.sdk`.

    PROVISIO_WEBHOOK_SECRET='<the exporter secret, 32+ characters>' \\
    PROVISIO_WEBHOOK_URL='https://hooks.example.com/provisio' \\
    python examples/receiver.py --port 9000

`PROVISIO_WEBHOOK_URL` must be the exporter's `config.url` exactly as configured in provisio (it is
part of the X-SOS signature), even when a proxy forwards the request to this process.
`--fail-first N` answers 503 to the first N deliveries, to watch provisio retry.
"""

import argparse
import os

from aiohttp import web

from provisio.sdk import Deduplicator, WebhookTestEvent, WebhookVerificationError, verify_webhook


def make_app(secret: str, url: str, fail_first: int = 0) -> web.Application:
    dedup = Deduplicator()
    failures_left = fail_first

    async def receive(request: web.Request) -> web.Response:
        nonlocal failures_left
        body = await request.read()
        try:
            event = verify_webhook(secret, url, dict(request.headers), body)
        except WebhookTestEvent as test:  # "Send test event" in provisio's console
            print(f"test event {test.event_id}: signatures verified")
            return web.Response(status=200, text="test event received")
        except WebhookVerificationError as error:
            print(f"refused: {error}")
            return web.Response(status=401, text=str(error))
        if failures_left > 0:
            failures_left -= 1
            print(f"pretending to fail: {event.id}")
            return web.Response(status=503)
        sequence = request.headers.get("X-SOS-Sequence-Number")
        if dedup.seen(event.id):
            print(f"duplicate #{sequence} {event.type} {event.id}")
        else:
            payload = event.payload.model_dump_json(by_alias=True, exclude_none=True)
            print(f"#{sequence} {event.type} {event.id} {payload}")
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/{tail:.*}", receive)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9000)
    parser.add_argument(
        "--fail-first", type=int, default=0, help="answer 503 to the first N deliveries"
    )
    args = parser.parse_args()
    secret = os.environ["PROVISIO_WEBHOOK_SECRET"]
    url = os.environ.get("PROVISIO_WEBHOOK_URL", f"http://{args.host}:{args.port}/")
    web.run_app(make_app(secret, url, args.fail_first), host=args.host, port=args.port)


if __name__ == "__main__":
    main()
