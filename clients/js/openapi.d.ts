// Generated from openapi/openapi.json by clients/js/scripts/gen-types.mjs: do not edit.
// Regenerate after re-exporting the spec: node clients/js/scripts/gen-types.mjs

/** bff — WeChat Cards & Offers backend v1 */

export interface Error {
  /** Error code */
  code?: number;
  /** Error name */
  status?: string;
  /** Error message */
  message?: string;
  /** Errors */
  errors?: {
    [key: string]: unknown;
  };
}

export interface PaginationMetadata {
  /** Total number of items. */
  total?: number;
  /** Total number of pages. */
  total_pages?: number;
  /** First available page number. */
  first_page?: number;
  /** Last available page number. */
  last_page?: number;
  /** Current page number. */
  page?: number;
  /** Previous page number. */
  previous_page?: number;
  /** Next page number. */
  next_page?: number;
}

export interface Health {
  status: string;
}

export interface Ready {
  status: string;
  redis: string;
  sandbox: boolean;
}

export interface Login {
  /** wx.login code (Mini Program) or the web authorization code (H5) */
  code: string;
}

export interface Session {
  /** send as Authorization: Bearer */
  token: string;
  /** seconds */
  expires_in: number;
  openid: string;
}

export interface Me {
  miniprogram_openid?: string | null;
  official_account_openid?: string | null;
  unionid?: string | null;
  linked_by?: string | null;
}

export interface AddCardItem {
  card_id: string;
  /** channel tag, passed through unsigned */
  outer_str?: string;
  /** unsigned; passed through unsigned */
  fixed_begintimestamp?: number;
}

export interface AddCard {
  /** 1..10 cards */
  cards: Array<AddCardItem>;
}

export interface CardListItem {
  cardId: string;
  /** pass to wx.addCard as is */
  cardExt: string;
}

export interface CardList {
  card_list: Array<CardListItem>;
}

export interface ChooseCard {
  card_id?: string;
  card_type?: string;
  shop_id?: string;
}

export interface ChooseCardOut {
  shopId: string;
  cardType: string;
  cardId: string;
  timestamp: string;
  nonceStr: string;
  signType: string;
  cardSign: string;
}

export interface JssdkConfig {
  url: string;
}

export interface JssdkConfigOut {
  appId: string;
  timestamp: number;
  nonceStr: string;
  signature: string;
}

export interface Decrypt {
  encrypt_code: string;
  card_id?: string;
}

export interface Code {
  card_id: string;
  code: string;
  user_card_status: string;
  can_consume: boolean;
}

export interface MineItem {
  card_id: string;
  code: string;
  user_card_status: string;
  received_at: number;
}

export interface Mine {
  cards: Array<MineItem>;
}

export interface Redeem {
  card_id: string;
  code?: string;
  encrypt_code?: string;
}

export interface RedeemOut {
  card_id: string;
  code: string;
  user_card_status: string;
  redeemed_at: number;
}

export interface MembershipNumber {
  mode?: "code" | "sequence";
  prefix?: string;
  width?: number;
}

export interface Profile {
  card_id?: string;
  bind_openid?: boolean;
  code_mode?: "none" | "deposit" | "pool";
  self_redeem?: boolean;
  membership_number?: MembershipNumber;
  init_bonus?: number;
  init_bonus_record?: string;
  init_balance?: number;
  background_pic_url?: string;
  review_state?: string;
  review_reason?: string | null;
}

export interface PoolLoad {
  codes: Array<string>;
}

export interface PoolLoadOut {
  added: number;
  duplicates: number;
  available: number;
}

export interface PluginRequest {
  card_id: string;
  outer_str?: string | null;
}

export interface PluginExtraData {
  encrypt_card_id: string;
  outer_str: string;
  biz: string;
}

export interface Plugin {
  /** the plug-in's appId */
  appId: string;
  /** pass to wx.navigateToMiniProgram as is */
  extraData: PluginExtraData;
  /** WeChat's activation URL */
  url: string;
}

export interface ActivateRequest {
  activate_ticket: string;
  card_id: string;
  code?: string | null;
  encrypt_code?: string | null;
}

export interface Activation {
  card_id: string;
  code: string;
  membership_number: string;
  /** form fields by readable name (mobile, name, sex, birthday, id_card, email, location, education, industry, income, habit; custom fields by their own name) */
  fields: {
    [key: string]: unknown;
  };
}

export interface MemberInfo {
  card_id: string;
  code: string;
  membership_number?: string | null;
  bonus: number;
  balance: number;
  user_card_status: string;
  has_active: boolean;
  /** form fields by readable name (mobile, name, sex, birthday, id_card, email, location, education, industry, income, habit; custom fields by their own name) */
  fields: {
    [key: string]: unknown;
  };
}

export interface Capabilities {
  weixin_version?: string | null;
  /** WeChat >= 6.0.2 */
  cards: boolean;
  /** iOS >= 6.5.9, Android >= 6.5.10 */
  activation_plugin: boolean;
  /** ios, android or other */
  platform: string;
}

export interface Event {
  /** Stream id; ordered */
  id: string;
  event: string;
  card_id?: string | null;
  code?: string | null;
  /** Official Account openid */
  openid?: string | null;
  /** WeChat's CreateTime */
  create_time?: number | null;
  /** Epoch milliseconds when recorded */
  received_at?: number;
  /** safe or plain */
  mode?: string;
  /** All XML fields */
  fields?: {
    [key: string]: string;
  };
}

export interface EventsPage {
  events: Array<Event>;
  /** Pass as `after` next time */
  next?: string | null;
}

export interface ChannelRow {
  date: string;
  card_id: string;
  /** '' when none was given */
  outer_str: string;
  received: number;
  consumed: number;
  deleted: number;
  gifted: number;
}

export interface ChannelStats {
  rows: Array<ChannelRow>;
}

export interface Identity {
  unionid?: string | null;
  miniprogram_openid?: string | null;
  official_account_openid?: string | null;
  linked_by?: string | null;
}

export interface QrCard {
  card_id: string;
  code?: string;
  openid?: string;
  is_unique_code?: boolean;
  outer_str?: string;
}

export interface QrCodeRequest {
  cards: Array<QrCard>;
  expire_seconds?: number | null;
}

export interface QrCode {
  ticket?: string;
  url?: string;
  show_qrcode_url?: string;
  expire_seconds?: number | null;
  /** this service's PNG rendering of url */
  image_url?: string;
}

export interface LandingCard {
  card_id: string;
  thumb_url: string;
}

export interface LandingPageRequest {
  banner: string;
  page_title: string;
  can_share: boolean;
  scene: "SCENE_NEAR_BY" | "SCENE_MENU" | "SCENE_QRCODE" | "SCENE_ARTICLE" | "SCENE_H5" | "SCENE_IVR" | "SCENE_CARD_CUSTOM_CELL";
  card_list: Array<LandingCard>;
}

export interface LandingPage {
  url?: string;
  page_id?: number;
}

export interface ArticleHtml {
  content?: string;
}

export interface Whitelist {
  openid?: Array<string>;
  username?: Array<string>;
}

export interface Codes {
  codes: Array<string>;
}

export interface DepositResult {
  succ_code?: unknown;
  duplicate_code?: unknown;
  fail_code?: unknown;
}

export interface Count {
  count?: number;
}

export interface CheckResult {
  exist_code?: Array<string>;
  not_exist_code?: Array<string>;
}

export interface CodeRef {
  card_id?: string;
  code?: string;
  encrypt_code?: string;
}

export interface CodeInfo {
  card_id?: string;
  code?: string;
  openid?: string | null;
  can_consume?: boolean;
  user_card_status?: string | null;
  begin_time?: number | null;
  end_time?: number | null;
}

export interface RedeemRequest {
  card_id?: string;
  code?: string;
  encrypt_code?: string;
  staff_id?: string;
  location?: string;
}

export interface Redemption {
  card_id?: string;
  code?: string;
  openid?: string | null;
  /** epoch seconds of the one consume */
  redeemed_at?: number;
  staff_id?: string | null;
  location?: string | null;
  /** counter, server or self */
  channel?: string;
}

/** Every operation: "METHOD /path" -> its path parameters, query, JSON body and success answer. */
export interface Operations {
  /** Process is up */
  "GET /healthz": {
    path: never;
    query: never;
    body: never;
    response: Health;
    status: 200;
  };
  /** Ready to serve: Redis reachable and configuration loaded */
  "GET /readyz": {
    path: never;
    query: never;
    body: never;
    response: Ready;
    status: 200;
  };
  /** Prometheus metrics (text exposition format) */
  "GET /metrics": {
    path: never;
    query: never;
    body: never;
    response: void;
    status: 200;
  };
  /** Log in with a wx.login code (jscode2session) */
  "POST /v1/sessions/miniprogram": {
    path: never;
    query: never;
    body: Login;
    response: Session;
    status: 201;
  };
  /** Log in with a web authorization code (Official Account openid) */
  "POST /v1/sessions/h5": {
    path: never;
    query: never;
    body: Login;
    response: Session;
    status: 201;
  };
  /** Log out: revoke the caller's session token */
  "DELETE /v1/sessions/current": {
    path: never;
    query: never;
    body: never;
    response: void;
    status: 204;
  };
  /** The caller's Mini Program openid, OA openid and unionid (nulls where unknown) */
  "GET /v1/me": {
    path: never;
    query: never;
    body: never;
    response: Me;
    status: 200;
  };
  /** Sign a wx.addCard cardList (1..10 cards) */
  "POST /v1/cards/add-card": {
    path: never;
    query: never;
    body: AddCard;
    response: CardList;
    status: 200;
  };
  /** Parameters and cardSign for wx.chooseCard (JS-SDK) */
  "POST /v1/cards/choose-card": {
    path: never;
    query: never;
    body: ChooseCard;
    response: ChooseCardOut;
    status: 200;
  };
  /** wx.config signature for a page URL (jsapi ticket; fragment dropped) */
  "POST /v1/jssdk/config": {
    path: never;
    query: never;
    body: JssdkConfig;
    response: JssdkConfigOut;
    status: 200;
  };
  /** Decrypt an encrypt_code (wx.addCard, card entry URL) for the code's owner */
  "POST /v1/cards/codes/decrypt": {
    path: never;
    query: never;
    body: Decrypt;
    response: Code;
    status: 200;
  };
  /** The caller's cards with real codes, ready for wx.openCard */
  "GET /v1/cards/mine": {
    path: never;
    query: never;
    body: never;
    response: Mine;
    status: 200;
  };
  /** Redeem the caller's own code (where the card allows it); idempotent */
  "POST /v1/cards/codes/redeem": {
    path: never;
    query: never;
    body: Redeem;
    response: RedeemOut;
    status: 200;
  };
  /** The card's profile (defaults when never set) */
  "GET /v1/admin/cards/{card_id}/profile": {
    path: {
      card_id: string;
    };
    query: never;
    body: never;
    response: Profile;
    status: 200;
  };
  /** Set the card's profile; omitted fields keep their value */
  "PUT /v1/admin/cards/{card_id}/profile": {
    path: {
      card_id: string;
    };
    query: never;
    body: Profile;
    response: Profile;
    status: 200;
  };
  /** Load codes into the card's pool (a code is never loaded, or handed out, twice) */
  "POST /v1/admin/cards/{card_id}/pool": {
    path: {
      card_id: string;
    };
    query: never;
    body: PoolLoad;
    response: PoolLoadOut;
    status: 200;
  };
  /** Parameters for wx.navigateToMiniProgram to WeChat's card activation plug-in */
  "POST /v1/membership/activation-plugin": {
    path: never;
    query: never;
    body: PluginRequest;
    response: Plugin;
    status: 200;
  };
  /** Activate the caller's member card with the plug-in's activate_ticket (idempotent) */
  "POST /v1/membership/activate": {
    path: never;
    query: never;
    body: ActivateRequest;
    response: Activation;
    status: 200;
  };
  /** The caller's member-card info: number, bonus, balance, status, form fields */
  "GET /v1/membership/cards/{card_id}": {
    path: {
      card_id: string;
    };
    query: never;
    body: never;
    response: MemberInfo;
    status: 200;
  };
  /** What the user's WeChat supports (cards, activation plug-in), from its User-Agent */
  "GET /v1/capabilities": {
    path: never;
    query: {
      /** a User-Agent to test instead of the request's */
      ua?: string | null;
    };
    body: never;
    response: Capabilities;
    status: 200;
  };
  /** WeChat URL check */
  "GET /wechat/events": {
    path: never;
    query: {
      signature: string;
      timestamp: string;
      nonce: string;
      echostr: string;
    };
    body: never;
    response: string;
    status: 200;
  };
  /** WeChat event push (plain or safe mode) */
  "POST /wechat/events": {
    path: never;
    query: {
      signature: string;
      timestamp: string;
      nonce: string;
      encrypt_type?: "aes";
      msg_signature?: string;
    };
    body: string;
    response: string;
    status: 200;
  };
  /** Read the event stream in order, after a cursor. */
  "GET /v1/admin/events": {
    path: never;
    query: {
      /** Return events after this id (the last `next`) */
      after?: string | null;
      limit?: number;
    };
    body: never;
    response: EventsPage;
    status: 200;
  };
  /** Cards received, consumed, deleted and gifted per day and channel (outer_str). */
  "GET /v1/admin/stats/channels": {
    path: never;
    query: {
      card_id?: string | null;
      /** First day (Asia/Shanghai); default to - 29 days */
      from?: string | null;
      /** Last day (Asia/Shanghai), inclusive; default today */
      to?: string | null;
    };
    body: never;
    response: ChannelStats;
    status: 200;
  };
  /** The links between a unionid, Mini Program openid and Official Account openid. */
  "GET /v1/admin/identities": {
    path: never;
    query: {
      unionid?: string | null;
      mp_openid?: string | null;
      oa_openid?: string | null;
    };
    body: never;
    response: Identity;
    status: 200;
  };
  /** Create a card QR code (one card: QR_CARD; 2–5 cards: QR_MULTIPLE_CARD) */
  "POST /v1/admin/qrcodes": {
    path: never;
    query: never;
    body: QrCodeRequest;
    response: QrCode;
    status: 201;
  };
  /** Render a QR code's url as PNG or SVG (locally; nothing is fetched) */
  "GET /v1/admin/qrcodes/image": {
    path: never;
    query: {
      url: string;
      format?: "png" | "svg";
      scale?: number;
      border?: number;
    };
    body: never;
    response: Blob;
    status: 200;
  };
  /** Create a landing page (gallery) offering one or more cards */
  "POST /v1/admin/landing-pages": {
    path: never;
    query: never;
    body: LandingPageRequest;
    response: LandingPage;
    status: 201;
  };
  /** HTML that inserts the card into an Official Account article */
  "GET /v1/admin/cards/{card_id}/article-html": {
    path: {
      card_id: string;
    };
    query: never;
    body: never;
    response: ArticleHtml;
    status: 200;
  };
  /** Replace the test whitelist (openids and usernames, at most 10 in all) */
  "PUT /v1/admin/test-whitelist": {
    path: never;
    query: never;
    body: Whitelist;
    response: Whitelist;
    status: 200;
  };
  /** Deposit up to 100 custom codes (one card/code/deposit); files: ``bff codes import`` */
  "POST /v1/admin/cards/{card_id}/codes": {
    path: {
      card_id: string;
    };
    query: never;
    body: Codes;
    response: DepositResult;
    status: 200;
  };
  /** Number of custom codes deposited for the card */
  "GET /v1/admin/cards/{card_id}/codes/count": {
    path: {
      card_id: string;
    };
    query: never;
    body: never;
    response: Count;
    status: 200;
  };
  /** Which of up to 100 codes WeChat holds for the card */
  "POST /v1/admin/cards/{card_id}/codes/check": {
    path: {
      card_id: string;
    };
    query: never;
    body: Codes;
    response: CheckResult;
    status: 200;
  };
  /** Query a code before redemption (check_consume): who holds it, can it be used */
  "POST /v1/admin/codes/query": {
    path: never;
    query: never;
    body: CodeRef;
    response: CodeInfo;
    status: 200;
  };
  /** Redeem a code at the counter: query, then consume once (idempotent, ledgered) */
  "POST /v1/admin/codes/redeem": {
    path: never;
    query: never;
    body: RedeemRequest;
    response: Redemption;
    status: 200;
  };
}
