"""The ``bff`` command: Flask's CLI over ``create_app``, plus ``bff dev`` for a first minute."""

from __future__ import annotations

import logging

import click
from flask.cli import FlaskGroup

WALKTHROUGH = """\
bff is running in sandbox mode on {base} (no WeChat account, embedded store unless BFF_REDIS_URL).

  Interactive API docs:  {base}/docs
  Readiness:             {base}/readyz
  The offline WeChat:    {base}/sandbox/...   (its simulator: {base}/sandbox/_sim/...)

The user story with curl (copy line by line; needs jq):
  U=$(curl -s -XPOST {base}/sandbox/_sim/users -H 'content-type: application/json' -d '{{}}')
  MP=$(echo $U | jq -r .mp_openid); OA=$(echo $U | jq -r .oa_openid)
  CODE=$(curl -s -XPOST {base}/sandbox/_sim/login-codes -H 'content-type: application/json' \\
      -d "{{\\"user\\": \\"$MP\\", \\"app\\": \\"miniprogram\\"}}" | jq -r .code)
  TOKEN=$(curl -s -XPOST {base}/v1/sessions/miniprogram -H 'content-type: application/json' \\
      -d "{{\\"code\\": \\"$CODE\\"}}" | jq -r .token)
  CARD=$(curl -s -XPOST {base}/sandbox/_sim/cards -H 'content-type: application/json' \\
      -d '{{"card_type": "GROUPON"}}' | jq -r .card_id)
  LIST=$(curl -s -XPOST {base}/v1/cards/add-card -H "authorization: Bearer $TOKEN" \\
      -H 'content-type: application/json' -d "{{\\"cards\\": [{{\\"card_id\\": \\"$CARD\\"}}]}}" \\
      | jq .card_list)
  # what wx.addCard does in the client: WeChat checks the cardExt and returns encrypted codes
  ENC=$(curl -s -XPOST {base}/sandbox/_sim/add-card -H 'content-type: application/json' \\
      -d "{{\\"user\\": \\"$MP\\", \\"card_list\\": $LIST}}" | jq -r '.card_list[0].code')
  curl -s -XPOST {base}/v1/cards/codes/decrypt -H "authorization: Bearer $TOKEN" \\
      -H 'content-type: application/json' -d "{{\\"encrypt_code\\": \\"$ENC\\"}}"
  curl -s {base}/v1/cards/mine -H "authorization: Bearer $TOKEN"

Operator endpoints take: Authorization: Bearer {admin_token}
"""


@click.command("dev")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
def dev(host: str, port: int) -> None:
    """Run the BFF with the offline WeChat sandbox on one port: no account, no Redis needed."""
    from werkzeug.serving import run_simple

    from bff import create_app

    app = create_app({"sandbox": True})
    try:
        from bff.events import start_worker_thread
    except ImportError:
        start_worker_thread = None
    if start_worker_thread is not None:
        start_worker_thread(app)
    base = f"http://{host}:{port}"
    admin_token = app.extensions["bff"].settings.admin_token
    click.echo(WALKTHROUGH.format(base=base, admin_token=admin_token))
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    run_simple(host, port, app, threaded=True, use_reloader=False)


def _create_app():  # FlaskGroup calls it with no arguments
    from bff import create_app

    return create_app()


cli = FlaskGroup(create_app=_create_app, help="bff: WeChat Cards & Offers backend.")
cli.add_command(dev)


def main() -> None:
    cli.main()
