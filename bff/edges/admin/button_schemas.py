"""Schemas of WeChat's card buttons, code marks and card images (operator endpoints)."""

from __future__ import annotations

from flask_smorest.fields import Upload
from marshmallow import Schema, fields

from bff.edges.admin.member_schemas import CODE
from bff.edges.admin.schemas import CARD_ID
from bff.edges.http.fields import OPENID, StrictBool


class SelfConsumeCellSchema(Schema):
    is_open = StrictBool(required=True, metadata={
        "description": "show the holder's self-redemption button on the card"})
    need_verify_cod = StrictBool(load_default=False, metadata={
        "description": "the holder confirms with the store's verification code"})
    need_remark_amount = StrictBool(load_default=False, metadata={
        "description": "the holder types the amount spent"})


class SelfConsumeCellOutSchema(SelfConsumeCellSchema):
    card_id = fields.Str()


class PayCellSchema(Schema):
    is_open = StrictBool(required=True, metadata={
        "description": "show WeChat Pay's quick-pay button on the card"})


class PayCellOutSchema(PayCellSchema):
    card_id = fields.Str()


class CodeMarkSchema(Schema):
    card_id = fields.Str(required=True, validate=CARD_ID)
    code = fields.Str(required=True, validate=CODE)
    openid = fields.Str(required=True, validate=OPENID, metadata={
        "description": "the OA openid of the user whose order uses the code (its holder)"})
    is_mark = StrictBool(required=True, metadata={
        "description": "true marks the code for this order; false releases it"})


class ImageUploadSchema(Schema):
    file = Upload(required=True, metadata={
        "description": "a JPG or PNG of at most 1 MB (judged by its bytes)"})


class ImageSchema(Schema):
    url = fields.Str(required=True, metadata={
        "description": "the image on WeChat's image host: what logo_url, background_pic_url "
                       "and landing-page banners take"})
