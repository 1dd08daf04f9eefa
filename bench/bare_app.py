"""The baseline of bench/signing.py: a bare Flask endpoint answering constant JSON."""

from __future__ import annotations

from flask import Flask, jsonify

app = Flask(__name__)
_ANSWER = {"card_list": [{"cardId": "pFS7Fjg8kV1IdDz01r4SQwMkuCKc",
                          "cardExt": '{"timestamp":"1700000000","nonce_str":"abcdefghijklmnop",'
                                     '"signature":"0000000000000000000000000000000000000000"}'}]}


@app.post("/v1/cards/add-card")
def add_card():
    return jsonify(_ANSWER)
