"""One method per WeChat endpoint the service uses; each returns WeChat's answer without errcode.

Failures raise the ``bff.ground.wechat.errors`` hierarchy. Answers holding a session_key are
returned to
the caller only: nothing here logs a response body.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING
from urllib.parse import unquote

from bff.ground.wechat.client import WeChatClient

if TYPE_CHECKING:
    from bff.ground.wechat.credentials import Credentials


def normalise_encrypt_code(value: str) -> str:
    """Undo what a URL did to an encrypt_code, exactly once.

    Percent-decode once when it still holds ``%`` (a value taken from a page URL), then turn
    spaces back into ``+`` (a query decoder read base64's ``+`` as a space). Never
    ``unquote_plus``: ``+`` is data. Base64 holds no ``%`` or space, so a second call is a no-op.
    Sent still encoded, WeChat answers errcode 0 with a garbled code.
    """
    s = value.strip("\t\r\n")  # not spaces: a leading or trailing space was a "+"
    if "%" in s:
        s = unquote(s)
    return s.replace(" ", "+")


class WeChatApi:
    """The Official Account (cards, users) and Mini Program (login) APIs over one client."""

    def __init__(
        self,
        client: WeChatClient,
        *,
        appid: str,
        secret: str,
        miniprogram_appid: str,
        miniprogram_secret: str,
    ) -> None:
        self.client = client
        self.appid = appid
        self._secret = secret
        self.miniprogram_appid = miniprogram_appid
        self._miniprogram_secret = miniprogram_secret

    @property
    def credentials(self) -> Credentials:
        """The Official Account's Credentials (for ``ticket("wx_card")`` when signing)."""
        return self.client.credentials  # type: ignore[return-value]

    def __repr__(self) -> str:
        return f"WeChatApi(appid={self.appid!r}, miniprogram_appid={self.miniprogram_appid!r})"

    # -- login and users ------------------------------------------------------------------

    def jscode2session(self, js_code: str) -> dict:
        """``{openid, session_key, unionid?}``; session_key must stay on the server."""
        params = {"appid": self.miniprogram_appid, "secret": self._miniprogram_secret,
                  "js_code": js_code, "grant_type": "authorization_code"}
        return self.client.request("GET", "/sns/jscode2session", params=params, token=False,
                                   idempotent=False)

    def oauth2_access_token(self, code: str) -> dict:
        """H5 web authorization: ``{access_token, openid, scope, unionid?, ...}``."""
        params = {"appid": self.appid, "secret": self._secret, "code": code,
                  "grant_type": "authorization_code"}
        return self.client.request("GET", "/sns/oauth2/access_token", params=params,
                                   token=False, idempotent=False)

    def user_info(self, openid: str, lang: str = "zh_CN") -> dict:
        return self.client.get("/cgi-bin/user/info", openid=openid, lang=lang)

    # -- cards ----------------------------------------------------------------------------

    def card_create(self, card: dict) -> dict:
        return self.client.post("/card/create", {"card": card}, idempotent=False)

    def card_get(self, card_id: str) -> dict:
        return self.client.post("/card/get", {"card_id": card_id})

    def card_batchget(self, offset: int, count: int,
                      status_list: Sequence[str] | None = None) -> dict:
        """``{card_id_list, total_num}``; count at most 50."""
        body: dict = {"offset": offset, "count": count}
        if status_list:
            body["status_list"] = list(status_list)
        return self.client.post("/card/batchget", body)

    def card_update(self, card_id: str, card_type: str, change: dict) -> dict:
        """``{send_check}``; ``change`` is the ``<card type>`` object of changed fields."""
        # Sending the same change twice leaves the card as one change would: safe to retry.
        return self.client.post("/card/update", {"card_id": card_id, card_type.lower(): change})

    def card_delete(self, card_id: str) -> dict:
        return self.client.post("/card/delete", {"card_id": card_id})

    def modify_stock(self, card_id: str, increase: int = 0, reduce: int = 0) -> dict:
        body: dict = {"card_id": card_id}
        if increase:
            body["increase_stock_value"] = increase
        if reduce:
            body["reduce_stock_value"] = reduce
        return self.client.post("/card/modifystock", body, idempotent=False)

    def code_decrypt(self, encrypt_code: str) -> dict:
        """The real code of an encrypt_code, normalised here so no caller can forget it."""
        body = {"encrypt_code": normalise_encrypt_code(encrypt_code)}
        return self.client.post("/card/code/decrypt", body)

    def code_get(self, code: str, card_id: str | None = None, check_consume: bool = False) -> dict:
        """``check_consume`` is always sent: WeChat treats an absent one as true, which turns a
        consumed or deleted code into an errcode instead of its status."""
        body: dict = {"code": code, "check_consume": check_consume}
        if card_id is not None:
            body["card_id"] = card_id
        return self.client.post("/card/code/get", body)

    def code_consume(self, code: str, card_id: str | None = None) -> dict:
        """Irreversible: never retried once the request may have reached WeChat."""
        body: dict = {"code": code}
        if card_id is not None:
            body["card_id"] = card_id
        return self.client.post("/card/code/consume", body, idempotent=False)

    def code_unavailable(self, code: str, card_id: str | None = None,
                         reason: str | None = None) -> dict:
        """Irreversible for the holder: the code can no longer be used."""
        body: dict = {"code": code}
        if card_id is not None:
            body["card_id"] = card_id
        if reason:
            body["reason"] = reason
        return self.client.post("/card/code/unavailable", body, idempotent=False)

    def code_update(self, card_id: str, code: str, new_code: str) -> dict:
        return self.client.post("/card/code/update",
                                {"card_id": card_id, "code": code, "new_code": new_code},
                                idempotent=False)

    def user_card_list(self, openid: str, card_id: str | None = None) -> dict:
        """The cards in a user's card package (OA openid): ``{card_list: [{code, card_id}]}``."""
        body: dict = {"openid": openid}
        if card_id:
            body["card_id"] = card_id
        return self.client.post("/card/user/getcardlist", body)

    def code_deposit(self, card_id: str, codes: Sequence[str]) -> dict:
        # Depositing the same codes twice only reports them as duplicates: safe to retry.
        return self.client.post("/card/code/deposit", {"card_id": card_id, "code": list(codes)})

    def code_deposit_count(self, card_id: str) -> dict:
        return self.client.post("/card/code/getdepositcount", {"card_id": card_id})

    def code_check(self, card_id: str, codes: Sequence[str]) -> dict:
        return self.client.post("/card/code/checkcode", {"card_id": card_id, "code": list(codes)})

    def qrcode_create(self, body: dict) -> dict:
        return self.client.post("/card/qrcode/create", body)

    def landingpage_create(self, body: dict) -> dict:
        return self.client.post("/card/landingpage/create", body, idempotent=False)

    def mpnews_gethtml(self, card_id: str) -> dict:
        return self.client.post("/card/mpnews/gethtml", {"card_id": card_id})

    def media_uploadimg(self, filename: str, data: bytes, mimetype: str) -> dict:
        """``{url}`` of an image for cards (logo_url, background_pic_url, banners): multipart,
        the file in the form field ``buffer``. Uploading twice only makes a second URL."""
        return self.client.request("POST", "/cgi-bin/media/uploadimg",
                                   files={"buffer": (filename, data, mimetype)})

    def card_selfconsumecell_set(self, card_id: str, is_open: bool,
                                 need_verify_cod: bool = False,
                                 need_remark_amount: bool = False) -> dict:
        """The holder's self-redemption button on the card (replaces the setting)."""
        return self.client.post("/card/selfconsumecell/set", {
            "card_id": card_id, "is_open": is_open, "need_verify_cod": need_verify_cod,
            "need_remark_amount": need_remark_amount})

    def card_paycell_set(self, card_id: str, is_open: bool) -> dict:
        """WeChat Pay's quick-pay button on the card (replaces the setting)."""
        return self.client.post("/card/paycell/set", {"card_id": card_id, "is_open": is_open})

    def code_mark(self, card_id: str, code: str, openid: str, is_mark: bool) -> dict:
        """Mark (or release) a code while a user's online order uses it."""
        return self.client.post("/card/code/mark", {
            "card_id": card_id, "code": code, "openid": openid, "is_mark": is_mark})

    def testwhitelist_set(
        self, openids: Sequence[str] = (), usernames: Sequence[str] = ()
    ) -> dict:
        body = {"openid": list(openids), "username": list(usernames)}
        return self.client.post("/card/testwhitelist/set", body)

    # -- card messages (broadcasts, previews, customer service) ----------------------------

    def mass_sendall(self, card_id: str, *, is_to_all: bool, tag_id: int | None,
                     clientmsgid: str) -> dict:
        """``{msg_id}``: a card message to every follower or to one tag. WeChat keeps a
        ``clientmsgid`` for 24 h and refuses a second send with it (45065, naming the first
        ``msg_id``), so the call is safe to retry."""
        target: dict = {"is_to_all": is_to_all}
        if tag_id is not None:
            target["tag_id"] = tag_id
        return self.client.post("/cgi-bin/message/mass/sendall", {
            "filter": target, "msgtype": "wxcard", "wxcard": {"card_id": card_id},
            "clientmsgid": clientmsgid})

    def mass_send(self, card_id: str, openids: Sequence[str], *, clientmsgid: str) -> dict:
        """``{msg_id}``: a card message to 2-10,000 openids (safe to retry, as above)."""
        return self.client.post("/cgi-bin/message/mass/send", {
            "touser": list(openids), "msgtype": "wxcard", "wxcard": {"card_id": card_id},
            "clientmsgid": clientmsgid})

    def mass_preview(self, card_id: str, *, openid: str | None = None,
                     wxname: str | None = None) -> dict:
        """A preview of a card message to one follower (openid) or WeChat ID (wxname)."""
        body: dict = {"msgtype": "wxcard", "wxcard": {"card_id": card_id}}
        if openid is not None:
            body["touser"] = openid
        else:
            body["towxname"] = wxname
        return self.client.post("/cgi-bin/message/mass/preview", body, idempotent=False)

    def mass_get(self, msg_id: str) -> dict:
        """``{msg_id, msg_status}``: SEND_SUCCESS, SENDING, SEND_FAIL or DELETE."""
        return self.client.post("/cgi-bin/message/mass/get", {"msg_id": msg_id})

    def custom_send_card(self, openid: str, card_id: str) -> dict:
        """A customer-service card message to one follower."""
        return self.client.post("/cgi-bin/message/custom/send", {
            "touser": openid, "msgtype": "wxcard", "wxcard": {"card_id": card_id}},
            idempotent=False)

    # -- member cards ---------------------------------------------------------------------

    def membercard_activate_geturl(self, card_id: str, outer_str: str | None = None) -> dict:
        body: dict = {"card_id": card_id}
        if outer_str is not None:
            body["outer_str"] = outer_str
        return self.client.post("/card/membercard/activate/geturl", body)

    def membercard_activatetempinfo_get(self, activate_ticket: str) -> dict:
        """The user's activation form; personal data, never logged."""
        return self.client.post("/card/membercard/activatetempinfo/get",
                                {"activate_ticket": activate_ticket})

    def membercard_activate(self, body: dict) -> dict:
        """Never resent once it may have reached WeChat: a lost answer is settled by the domain
        (``bff.domain.members.activation``) asking userinfo/get, so one activation is one call."""
        return self.client.post("/card/membercard/activate", body, idempotent=False)

    def membercard_activateuserform_set(self, card_id: str, form: dict) -> dict:
        """The member card's activation form (replaces the previous one: safe to retry)."""
        return self.client.post("/card/membercard/activateuserform/set",
                                {**form, "card_id": card_id})

    # -- card data --------------------------------------------------------------------------

    def datacube(self, call: str, body: dict) -> dict:
        """``/datacube/<call>`` (getcardbizuininfo, getcardcardinfo, getcardmembercardinfo)."""
        return self.client.post(f"/datacube/{call}", body)

    def membercard_userinfo_get(self, card_id: str, code: str) -> dict:
        return self.client.post("/card/membercard/userinfo/get",
                                {"card_id": card_id, "code": code})

    def membercard_updateuser(self, body: dict) -> dict:
        """Change bonus/balance: never retried once sent (an ``add_*`` would apply twice)."""
        return self.client.post("/card/membercard/updateuser", body, idempotent=False)
