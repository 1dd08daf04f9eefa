"""add-card's hand-written marshmallow bypass, with and without, in one run (issue 18 §2).

``AddCardSchema.load`` checks a well-formed body with the schema's own validators and
``CardListSchema.dump`` copies two strings per card (bff/edges/cards/schemas.py); this times each
against marshmallow's own ``Schema.load`` / ``Schema.dump`` on the same schema object and the
benchmark's body, in alternating rounds, and prints the CPU they save per add-card request.
Compare with add-card's CPU per request from bench/signing.py.

    .venv/bin/python bench/schema_bypass.py
"""

from __future__ import annotations

import os
import sys
import timeit

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from marshmallow import Schema  # noqa: E402

from bff.edges.cards.schemas import AddCardSchema, CardListSchema  # noqa: E402

BODY = {"cards": [{"card_id": "pFS7Fjg8kV1IdDz01r4SQwMkuCKc", "outer_str": "bench"}]}
ANSWER = {"card_list": [{"cardId": "pFS7Fjg8kV1IdDz01r4SQwMkuCKc",
                         "cardExt": '{"timestamp":"1700000000","nonce_str":"abcdefghijklmnop",'
                                    '"signature":"0000000000000000000000000000000000000000"}'}]}


def main(rounds: int = 3, n: int = 20000) -> None:
    load, dump = AddCardSchema(), CardListSchema()
    assert load.load(BODY) == Schema.load(load, BODY)
    assert dump.dump(ANSWER) == Schema.dump(dump, ANSWER)
    for _ in range(rounds):
        us = {name: 1e6 * timeit.timeit(f, number=n) / n for name, f in (
            ("load", lambda: load.load(BODY)),
            ("marshmallow load", lambda: Schema.load(load, BODY)),
            ("dump", lambda: dump.dump(ANSWER)),
            ("marshmallow dump", lambda: Schema.dump(dump, ANSWER)))}
        saved = us["marshmallow load"] - us["load"] + us["marshmallow dump"] - us["dump"]
        print(f"load: bypass {us['load']:5.1f} us, marshmallow {us['marshmallow load']:5.1f} us; "
              f"dump: bypass {us['dump']:5.1f} us, marshmallow {us['marshmallow dump']:5.1f} us; "
              f"saved {saved:5.1f} us per add-card")


if __name__ == "__main__":
    main()
