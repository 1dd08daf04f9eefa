/*
 * WeixinJSBridge stand-in served by the bff sandbox (sandbox mode only).
 *
 * Load it BEFORE the official JS-SDK (npm weixin-js-sdk / jweixin). It plays WeChat's client:
 * the JS-SDK calls WeixinJSBridge.invoke(name, args, callback) and this answers as WeChat does,
 * checking each signature on the sandbox (its own tickets):
 *   wx.config      -> config:ok | config:invalid signature | config:invalid url domain
 *   wx.addCard     -> the sandbox's /_sim/add-card (cardExt checked, codes issued and pushed)
 *   wx.chooseCard  -> the user's cards if cardSign is right, else an empty list
 *   wx.openCard    -> shows the cards, pushes user_view_card
 *   anything else  -> "<api>:permission denied", as for an API not in jsApiList
 * The simulated user: ?user=<openid> on this script's URL, else on the page's URL, else the
 * user of the web-authorization ?code= the page came back with (remembered for this origin),
 * else the one picked on the sandbox's /connect/oauth2/authorize page. Development only.
 */
(function () {
  "use strict";
  var SETTINGS = __WXSANDBOX_SETTINGS__;
  if (window.WeixinJSBridge && !window.WeixinJSBridge.sandbox) return; // WeChat's own is there

  var script = document.currentScript;
  var base = script && script.src ? script.src.replace(/\/jsbridge\.js(\?.*)?$/, "")
    : SETTINGS.base;

  function param(url, name) {
    try { return new URL(url).searchParams.get(name); } catch (e) { return null; }
  }
  // Who this is: ?user= on this script or the page; else the user of the login code the page
  // came back from web authorization with (remembered for this origin); else the authorize
  // page's choice (a cookie of the sandbox's origin, when this page shares its site).
  var REMEMBERED = "wxsandbox.user";
  function remembered() {
    try { return window.localStorage.getItem(REMEMBERED); } catch (e) { return null; }
  }
  function remember(id) {
    try { window.localStorage.setItem(REMEMBERED, id); } catch (e) { /* private mode */ }
  }
  var user = (script && param(script.src, "user")) || param(location.href, "user") || null;
  var loginCode = param(location.href, "code");
  var userReady = Promise.resolve();
  if (user) {
    remember(user);
  } else if (loginCode && /^\d{1,32}$/.test(loginCode)) {
    userReady = fetch(base + "/_sim/login-codes/" + loginCode).then(function (res) {
      return res.ok ? res.json() : null;
    }).then(function (found) {
      if (found && found.oa_openid) remember(found.oa_openid);
    }, function () { /* not a sandbox code */ }).then(function () {
      user = remembered() || SETTINGS.chosenUser || null;
    });
  } else {
    user = remembered() || SETTINGS.chosenUser || null;
  }

  // The JS-SDK only talks to the bridge inside WeChat (it reads MicroMessenger/x.y.z from the
  // User-Agent); make this page look like WeChat 8 to it.
  if (!/micromessenger\/\d/i.test(navigator.userAgent)) {
    var wechatUA = navigator.userAgent + " MicroMessenger/8.0.50(0x1800322c) NetType/WIFI " +
      "Language/zh_CN";
    try {
      Object.defineProperty(navigator, "userAgent", { get: function () { return wechatUA; },
        configurable: true });
    } catch (e) { /* the page keeps its own User-Agent */ }
  }

  var CARD_APIS = ["batchAddCard", "chooseCard", "batchViewCard"];
  var state = { config: "none", verified: null, apis: [] };

  function post(path, body) {
    return fetch(base + path, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body)
    }).then(function (res) {
      return res.json().catch(function () { return {}; }).then(function (data) {
        if (!res.ok) throw new Error(data.error || ("sandbox HTTP " + res.status));
        return data;
      });
    });
  }

  function needUser() {
    if (!user) {
      throw new Error("no simulated user: add ?user=<openid> to the page or to jsbridge.js, " +
        "or log in through the sandbox's /connect/oauth2/authorize");
    }
    return user;
  }

  // ---- a little of WeChat's UI: the card view and the card picker ----
  function overlay(testid) {
    var box = document.createElement("div");
    box.setAttribute("data-testid", testid);
    box.style.cssText = "position:fixed;inset:0;background:rgba(0,0,0,.55);z-index:2147483647;" +
      "display:flex;align-items:flex-end;justify-content:center;font:15px system-ui,sans-serif";
    var sheet = document.createElement("div");
    sheet.style.cssText = "background:#fff;width:100%;max-width:420px;border-radius:12px 12px " +
      "0 0;padding:16px;box-sizing:border-box;max-height:80vh;overflow:auto";
    box.appendChild(sheet);
    document.body.appendChild(box);
    return { box: box, sheet: sheet };
  }

  function line(parent, text, css) {
    var el = document.createElement("div");
    el.textContent = text;
    if (css) el.style.cssText = css;
    parent.appendChild(el);
    return el;
  }

  function button(parent, text, testid, primary) {
    var b = document.createElement("button");
    b.textContent = text;
    b.setAttribute("data-testid", testid);
    b.style.cssText = "display:block;width:100%;margin-top:10px;padding:12px;border:0;" +
      "border-radius:6px;font-size:15px;" + (primary ? "background:#07c160;color:#fff" :
      "background:#f2f2f2;color:#111");
    parent.appendChild(b);
    return b;
  }

  function showCards(cards) {
    var o = overlay("wx-card-view");
    line(o.sheet, "WeChat card pack (sandbox)", "color:#888;font-size:12px");
    cards.forEach(function (c) {
      var item = line(o.sheet, "", "border:1px solid #eee;border-radius:8px;padding:12px;" +
        "margin-top:10px");
      item.setAttribute("data-testid", "wx-opened-card");
      line(item, c.title || c.card_id, "font-weight:600");
      line(item, "code " + c.code, "font-family:monospace;font-size:18px;margin:6px 0");
      line(item, c.card_type + " · " + c.user_card_status, "color:#888;font-size:12px");
    });
    button(o.sheet, "Close", "wx-card-view-close").onclick = function () { o.box.remove(); };
  }

  function pickCards(cards) {
    return new Promise(function (resolve) {
      var o = overlay("wx-card-picker");
      line(o.sheet, "Choose cards (sandbox)", "font-weight:600");
      var boxes = cards.map(function (c, i) {
        var label = document.createElement("label");
        label.style.cssText = "display:block;padding:10px 0;border-bottom:1px solid #eee";
        var box = document.createElement("input");
        box.type = "checkbox";
        box.style.cssText = "display:inline;width:auto;margin:0 8px 0 0;vertical-align:middle";
        box.checked = i === 0;
        label.appendChild(box);
        label.appendChild(document.createTextNode(" " + (c.title || c.card_id)));
        o.sheet.appendChild(label);
        return box;
      });
      button(o.sheet, "OK", "wx-card-picker-ok", true).onclick = function () {
        o.box.remove();
        resolve(cards.filter(function (c, i) { return boxes[i].checked; }));
      };
      button(o.sheet, "Cancel", "wx-card-picker-cancel").onclick = function () {
        o.box.remove();
        resolve(null);
      };
    });
  }

  // ---- the native calls ----
  function permitted(name, args) {
    var v = state.verified;
    return !!v && args.verifyAppId === v.appId && args.verifySignature === v.signature &&
      args.verifyTimestamp === v.timestamp && args.verifyNonceStr === v.nonceStr &&
      (name === "checkJsApi" || state.apis.indexOf(name) !== -1);
  }

  var handlers = {
    preVerifyJSAPI: function (args) {
      state.config = "verifying";
      var v = { appId: args.verifyAppId, timestamp: args.verifyTimestamp,
        nonceStr: args.verifyNonceStr, signature: args.verifySignature };
      return post("/_sim/jsapi/config", { url: location.href.split("#")[0], appId: v.appId || "",
        timestamp: v.timestamp || "", nonceStr: v.nonceStr || "", signature: v.signature || "" })
        .then(function (answer) {
          if (answer.result !== "ok") {
            state.config = "failed";
            return { err_msg: "pre_verify_jsapi:fail_" + answer.result };
          }
          state.config = "ok";
          state.verified = v;
          state.apis = (args.verifyJsApiList || []).slice();
          return { err_msg: "pre_verify_jsapi:ok" };
        }, function (e) {
          state.config = "failed";
          throw e;
        });
    },
    checkJsApi: function (args) {
      var result = {};
      (args.jsApiList || []).forEach(function (name) {
        result[name] = CARD_APIS.indexOf(name) !== -1;
      });
      // WeChat on Android hands checkResult over as a JSON string (the JS-SDK parses it).
      var android = /android/i.test(navigator.userAgent);
      return Promise.resolve({ err_msg: "checkJsApi:ok",
        checkResult: android ? JSON.stringify(result) : result });
    },
    batchAddCard: function (args) {
      var list = (args.card_list || []).map(function (c) {
        return { cardId: c.card_id, cardExt: c.card_ext };
      });
      return post("/_sim/add-card", { user: needUser(), card_list: list })
        .then(function (answer) {
          var cards = answer.card_list.map(function (c) {
            return { card_id: c.cardId, card_ext: c.cardExt, code: c.code || "",
              is_succ: c.isSuccess ? 1 : 0 };
          });
          var failed = answer.card_list.filter(function (c) { return !c.isSuccess; });
          if (failed.length === answer.card_list.length) {
            return { err_msg: "batch_add_card:fail_" + failed[0].errmsg };
          }
          return { err_msg: "batch_add_card:ok", card_list: JSON.stringify(cards) };
        });
    },
    chooseCard: function (args) {
      var body = { user: needUser() };
      ["app_id", "location_id", "sign_type", "card_id", "card_type", "card_sign", "time_stamp",
        "nonce_str"].forEach(function (k) { body[k] = args[k] == null ? "" : String(args[k]); });
      return post("/_sim/choose-card", body).then(function (answer) {
        if (!answer.cards.length) return { err_msg: "choose_card:ok", choose_card_info: "[]" };
        return pickCards(answer.cards).then(function (picked) {
          if (picked === null) return { err_msg: "choose_card:cancel" };
          return { err_msg: "choose_card:ok", choose_card_info: JSON.stringify(picked.map(
            function (c) { return { card_id: c.card_id, encrypt_code: c.encrypt_code }; })) };
        });
      });
    },
    batchViewCard: function (args) {
      var list = (args.card_list || []).map(function (c) {
        return { card_id: String(c.card_id || ""), code: String(c.code || "") };
      });
      return post("/_sim/open-card", { user: needUser(), card_list: list })
        .then(function (answer) {
          var missing = answer.card_list.filter(function (c) { return !c.opened; });
          if (missing.length) return { err_msg: "batch_view_card:fail_invalid code" };
          showCards(answer.card_list);
          return { err_msg: "batch_view_card:ok" };
        });
    }
  };

  function answer(name, args) {
    return userReady.then(function () { return answerNow(name, args); });
  }

  function answerNow(name, args) {
    if (name === "preVerifyJSAPI") return handlers.preVerifyJSAPI(args);
    if (state.config === "verifying") {
      return Promise.resolve({ err_msg: name + ":the permission value is offline verifying" });
    }
    if (!handlers[name] || !permitted(name, args)) {
      return Promise.resolve({ err_msg: name + ":access denied" });
    }
    try {
      return handlers[name](args);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  var listeners = {};
  window.WeixinJSBridge = {
    invoke: function (name, args, callback) {
      answer(String(name), args || {}).then(null, function (e) {
        return { err_msg: name + ":fail_" + (e && e.message ? e.message : String(e)) };
      }).then(function (res) {
        if (typeof callback === "function") callback(res);
      });
    },
    on: function (name, callback) { (listeners[name] = listeners[name] || []).push(callback); },
    call: function () {},
    log: function () {},
    // Sandbox-only helpers (not in WeChat): who this is, and WeChat's activation form.
    sandbox: {
      base: base,
      appId: SETTINGS.appId,
      user: function () { return userReady.then(function () { return user; }); },
      activationForm: function (extraData, fields) {
        return userReady.then(function () {
          return post("/_sim/activation-form", { user: needUser(),
            encrypt_card_id: extraData.encrypt_card_id, biz: extraData.biz,
            outer_str: extraData.outer_str || "", fields: fields || {} });
        });
      }
    }
  };
  setTimeout(function () {
    document.dispatchEvent(new Event("WeixinJSBridgeReady"));
  }, 0);
})();
