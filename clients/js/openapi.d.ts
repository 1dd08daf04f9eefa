// Generated from openapi/openapi.json by clients/js/scripts/gen-types.mjs: do not edit.
// Regenerate after re-exporting the spec: node clients/js/scripts/gen-types.mjs

/** bff — WeChat Cards & Offers backend v1 */

export interface Error {
  /** HTTP status code */
  code: number;
  /** HTTP status phrase */
  status: string;
  /** What went wrong */
  message: string;
  /** Per-field validation messages */
  errors?: {
    [key: string]: unknown;
  };
  /** WeChat's errcode, when WeChat refused */
  errcode?: number;
  /** The request's id (also the X-Request-Id header): quote it when reporting a failure; every log line of the request carries it */
  request_id?: string;
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
  /** channel tag for the statistics (unsigned). For a Mini Program caller the cardExt's outer_str is this tag, '~' and a proof that the card was signed for that user */
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
  /** the link's OA openid: accepted and ignored (the session proves who the caller is; a URL proves nothing) */
  openid?: string;
  /** the member card link's channel: counted as opened in channel statistics for the code's card, once per code and day */
  outer_str?: string;
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
  code?: string;
  encrypt_code?: string;
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

export interface Audience {
  /** every follower (message/mass/sendall) */
  all?: true;
  /** the followers with this tag (message/mass/sendall) */
  tag_id?: number;
  /** 2 to 10,000 followers' openids (message/mass/send) */
  openids?: Array<string>;
}

export interface BroadcastRequest {
  card_id: string;
  to: Audience;
  /** the same send again (same card and audience) is answered with the first broadcast, replayed, and sends nothing; sent to WeChat as clientmsgid */
  client_msg_id?: string;
}

export interface BroadcastSent {
  broadcast_id: string;
  /** WeChat's msg_id */
  msg_id?: string | null;
  card_id: string;
  audience: "all" | "tag" | "openids";
  tag_id?: number | null;
  openid_count?: number | null;
  client_msg_id?: string | null;
  /** epoch seconds */
  created_at: number;
  /** sent / failed from the MASSSENDJOBFINISH push once it came, else from message/mass/get */
  status: "sending" | "sent" | "failed" | "deleted";
  /** WeChat's word: the push's Status (sendsuccess, sendfail, err(...)) or message/mass/get's msg_status */
  wechat_status?: string | null;
  /** TotalCount: followers in the audience */
  total?: number | null;
  /** FilterCount: left after WeChat's filters */
  filtered?: number | null;
  /** SentCount */
  sent?: number | null;
  /** ErrorCount */
  errors?: number | null;
  /** the push's CreateTime */
  finished_at?: number | null;
  /** true: this client_msg_id was sent before; this is that broadcast */
  replayed: boolean;
}

export interface Broadcast {
  broadcast_id: string;
  /** WeChat's msg_id */
  msg_id?: string | null;
  card_id: string;
  audience: "all" | "tag" | "openids";
  tag_id?: number | null;
  openid_count?: number | null;
  client_msg_id?: string | null;
  /** epoch seconds */
  created_at: number;
  /** sent / failed from the MASSSENDJOBFINISH push once it came, else from message/mass/get */
  status: "sending" | "sent" | "failed" | "deleted";
  /** WeChat's word: the push's Status (sendsuccess, sendfail, err(...)) or message/mass/get's msg_status */
  wechat_status?: string | null;
  /** TotalCount: followers in the audience */
  total?: number | null;
  /** FilterCount: left after WeChat's filters */
  filtered?: number | null;
  /** SentCount */
  sent?: number | null;
  /** ErrorCount */
  errors?: number | null;
  /** the push's CreateTime */
  finished_at?: number | null;
}

export interface PreviewRequest {
  card_id: string;
  /** a follower's openid */
  openid?: string;
  /** a follower's WeChat ID */
  wxname?: string;
}

export interface Preview {
  card_id: string;
  openid?: string | null;
  wxname?: string | null;
  msg_id?: string | null;
}

export interface CardMessageRequest {
  openid: string;
  card_id: string;
}

export interface CardMessage {
  openid: string;
  card_id: string;
  /** epoch seconds */
  sent_at: number;
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
  /** who redeems, as the caller names it: recorded for BFF_ADMIN_TOKEN (the break-glass admin) and the command line; an operator account's redemption records its name (operator) instead */
  staff_id?: string;
  location?: string;
}

export interface Redemption {
  card_id?: string;
  code?: string;
  openid?: string | null;
  /** epoch seconds of the one consume */
  redeemed_at?: number;
  /** the staff_id given with BFF_ADMIN_TOKEN or on the command line; null when an operator account redeemed */
  staff_id?: string | null;
  /** the operator who redeemed it at the counter: an account's name, or break-glass (BFF_ADMIN_TOKEN); null for other channels and the command line */
  operator?: string | null;
  location?: string | null;
  /** counter, server or self */
  channel?: string;
}

export interface Change {
  change_id?: string;
  /** the Idempotency-Key (API only) */
  key?: string | null;
  /** epoch seconds */
  at?: number;
  by?: string;
  /** api (this service) or wechat (made elsewhere, seen in an update_member_card push) */
  source?: string;
  /** done, pending (running) or uncertain (the answer was lost; awaiting WeChat's push) */
  state?: string;
  add_bonus?: number | null;
  bonus?: number | null;
  record_bonus?: string | null;
  add_balance?: number | null;
  balance?: number | null;
  record_balance?: string | null;
  before_bonus?: number | null;
  before_balance?: number | null;
  result_bonus?: number | null;
  result_balance?: number | null;
  /** the update_member_card event that confirmed it */
  event_id?: string | null;
}

export interface Changes {
  changes: Array<Change>;
}

export interface CustomFieldValues {
  "1"?: string;
  "2"?: string;
  "3"?: string;
}

export interface Notify {
  /** send the bonus-change message (default yes) */
  bonus?: boolean;
  /** send the balance-change message */
  balance?: boolean;
}

export interface MemberChange {
  /** points to add (negative: spend) */
  add_bonus?: number;
  /** the new total; with add_bonus, add_bonus is what the message reports */
  bonus?: number;
  /** why, shown to the user */
  record_bonus?: string;
  /** fen to add (negative: spend) */
  add_balance?: number;
  /** the new total */
  balance?: number;
  record_balance?: string;
  /** custom_field_value1..3 by slot, ≤12 bytes (UTF-8) each */
  custom_field_values?: CustomFieldValues;
  background_pic_url?: string;
  notify?: Notify;
  /** who makes the change, kept in the ledger for the break-glass BFF_ADMIN_TOKEN only; an operator account's changes name the account */
  by?: string;
}

export interface MemberChangeResult {
  change_id: string;
  result_bonus: number;
  result_balance: number;
}

export interface Member {
  card_id?: string;
  code?: string;
  oa_openid?: string;
  mp_openid?: string;
  membership_number?: string;
  source?: string;
  activated_at?: number;
  updated_at?: number;
}

export interface Members {
  members: Array<Member>;
}

export interface MemberForm {
  card_id?: string;
  code?: string;
  oa_openid?: string;
  mp_openid?: string;
  membership_number?: string;
  source?: string;
  activated_at?: number;
  updated_at?: number;
  /** what the member filled in at activation (WeChat's form: name, mobile, the card's own fields), unsealed for this answer */
  fields: {
    [key: string]: unknown;
  };
}

export interface UnavailableRequest {
  card_id: string;
  code: string;
  reason?: string;
}

export interface Unavailable {
  card_id?: string;
  code?: string;
  user_card_status?: string;
}

export interface CodeUpdateRequest {
  card_id: string;
  code: string;
  new_code: string;
}

export interface CodeUpdate {
  card_id?: string;
  /** the new code */
  code?: string;
  old_code?: string;
  /** a recorded holding moved with it */
  holding_moved?: boolean;
}

export interface UserCard {
  card_id?: string;
  code?: string;
}

export interface UserCards {
  /** WeChat's card_list */
  cards: Array<UserCard>;
  /** holdings recorded or corrected from it */
  recorded?: number;
  /** codes the index holds as NORMAL for this user that WeChat no longer lists (used, deleted or expired outside the service) */
  not_in_wechat?: Array<string>;
}

export interface CardIds {
  card_ids?: Array<string>;
  total?: number;
}

export interface Sku {
  quantity: number;
}

export interface DateInfo {
  type: "DATE_TYPE_FIX_TIME_RANGE" | "DATE_TYPE_FIX_TERM" | "DATE_TYPE_PERMANENT";
  begin_timestamp?: number;
  end_timestamp?: number;
  fixed_term?: number;
  fixed_begin_term?: number;
}

export type BaseInfo = unknown | unknown & unknown | unknown & unknown | unknown;

export interface Groupon {
  base_info: BaseInfo;
  advanced_info?: {
    [key: string]: unknown;
  };
  deal_detail: string;
  [key: string]: unknown;
}

export interface Cash {
  base_info: BaseInfo;
  advanced_info?: {
    [key: string]: unknown;
  };
  /** minimum spend, in fen */
  least_cost?: number;
  /** amount off, in fen */
  reduce_cost: number;
  [key: string]: unknown;
}

export interface Discount {
  base_info: BaseInfo;
  advanced_info?: {
    [key: string]: unknown;
  };
  /** percent off: 30 is 70% of the price */
  discount: number;
  [key: string]: unknown;
}

export interface Gift {
  base_info: BaseInfo;
  advanced_info?: {
    [key: string]: unknown;
  };
  gift: string;
  [key: string]: unknown;
}

export interface GeneralCoupon {
  base_info: BaseInfo;
  advanced_info?: {
    [key: string]: unknown;
  };
  default_detail: string;
  [key: string]: unknown;
}

export type CustomField = unknown | unknown;

export type CustomCell = unknown | unknown;

export type MemberCard = unknown | unknown & unknown | unknown;

export interface Card {
  card_type: "GROUPON" | "CASH" | "DISCOUNT" | "GIFT" | "GENERAL_COUPON" | "MEMBER_CARD";
  groupon?: Groupon;
  cash?: Cash;
  discount?: Discount;
  gift?: Gift;
  general_coupon?: GeneralCoupon;
  member_card?: MemberCard;
}

export interface CardCreate {
  card: Card;
}

export interface CardCreated {
  card_id?: string;
}

export interface StockAlert {
  detail?: string;
  at?: number;
}

export interface CardView {
  /** WeChat's card/get answer: card_type and the object named after it */
  card?: {
    [key: string]: unknown;
  };
  /** pending, approved, rejected, deleted */
  review_state?: string;
  /** WeChat's RefuseReason */
  review_reason?: string | null;
  /** WeChat's last card_sku_remind */
  stock_alert?: StockAlert | Record<string, never> | null;
}

export interface BaseInfoChange {
  /** an image on WeChat's image host (POST /v1/admin/images answers one; in sandbox mode also the sandbox's own uploads) */
  logo_url?: string;
  code_type?: "CODE_TYPE_TEXT" | "CODE_TYPE_BARCODE" | "CODE_TYPE_QRCODE" | "CODE_TYPE_ONLY_QRCODE" | "CODE_TYPE_ONLY_BARCODE" | "CODE_TYPE_NONE";
  title?: string;
  color?: "Color010" | "Color020" | "Color030" | "Color040" | "Color050" | "Color060" | "Color070" | "Color080" | "Color081" | "Color082" | "Color090" | "Color100" | "Color101" | "Color102";
  notice?: string;
  description?: string;
  date_info?: DateInfo;
  get_custom_code_mode?: "GET_CUSTOM_CODE_MODE_DEPOSIT";
  service_phone?: string;
  get_limit?: number;
  can_share?: boolean;
  can_give_friend?: boolean;
  center_title?: string;
  center_sub_title?: string;
  center_url?: string;
  custom_url_name?: string;
  custom_url?: string;
  custom_url_sub_title?: string;
  promotion_url_name?: string;
  promotion_url?: string;
  promotion_url_sub_title?: string;
  custom_app_brand_user_name?: string;
  promotion_app_brand_user_name?: string;
  center_app_brand_user_name?: string;
  custom_app_brand_pass?: string;
  promotion_app_brand_pass?: string;
  center_app_brand_pass?: string;
  location_id_list?: Array<number>;
  use_all_locations?: boolean;
}

export interface CardChange {
  /** an image on WeChat's image host (POST /v1/admin/images answers one; in sandbox mode also the sandbox's own uploads) */
  background_pic_url?: string;
  prerogative?: string;
  auto_activate?: boolean;
  wx_activate?: boolean;
  wx_activate_after_submit?: boolean;
  wx_activate_after_submit_url?: string;
  activate_url?: string;
  activate_app_brand_user_name?: string;
  activate_app_brand_pass?: string;
  bonus_app_brand_user_name?: string;
  bonus_app_brand_pass?: string;
  balance_app_brand_user_name?: string;
  balance_app_brand_pass?: string;
  supply_bonus?: boolean;
  supply_balance?: boolean;
  bonus_url?: string;
  balance_url?: string;
  bonus_cleared?: string;
  bonus_rules?: string;
  balance_rules?: string;
  bonus_rule?: {
    [key: string]: unknown;
  };
  discount?: number;
  custom_field1?: CustomField;
  custom_field2?: CustomField;
  custom_field3?: CustomField;
  custom_cell1?: CustomCell;
  custom_cell2?: CustomCell;
  base_info?: BaseInfoChange;
  deal_detail?: string;
  gift?: string;
  default_detail?: string;
}

export interface SendCheck {
  /** true: the change goes back to review */
  send_check?: boolean;
}

export interface Stock {
  /** positive adds stock, negative takes it away */
  delta: number;
}

export interface Link {
  name: string;
  url: string;
}

export interface RichField {
  type: "FORM_FIELD_RADIO" | "FORM_FIELD_SELECT" | "FORM_FIELD_CHECK_BOX";
  name: string;
  values: Array<string>;
}

export interface FormPart {
  can_modify?: boolean;
  common_field_id_list?: Array<"USER_FORM_INFO_FLAG_MOBILE" | "USER_FORM_INFO_FLAG_SEX" | "USER_FORM_INFO_FLAG_NAME" | "USER_FORM_INFO_FLAG_BIRTHDAY" | "USER_FORM_INFO_FLAG_IDCARD" | "USER_FORM_INFO_FLAG_EMAIL" | "USER_FORM_INFO_FLAG_LOCATION" | "USER_FORM_INFO_FLAG_EDUCATION_BACKGRO" | "USER_FORM_INFO_FLAG_INDUSTRY" | "USER_FORM_INFO_FLAG_INCOME" | "USER_FORM_INFO_FLAG_HABIT">;
  custom_field_list?: Array<string>;
  rich_field_list?: Array<RichField>;
}

export interface ActivationForm {
  service_statement?: Link;
  bind_old_card?: Link;
  required_form?: FormPart;
  optional_form?: FormPart;
}

export interface WeChatStats {
  /** WeChat's rows (its field names) by ref_date, plus computed: false for a day WeChat has not finished computing (no counts then) */
  rows?: Array<{
    [key: string]: unknown;
  }>;
  /** the range was longer than 366 days: pass this as from for the rest */
  next_from?: string | null;
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
  /** the codes the card's definition gives, once the service has seen it (created or read through /v1/admin/cards): wechat, custom or deposit; then bind_openid and code_mode follow the definition and a PUT contradicting it is a 422; empty when never seen */
  defined_code?: string;
}

export interface PoolLoad {
  /** a code repeated or already loaded is counted in duplicates */
  codes: Array<string>;
}

export interface PoolLoadOut {
  added: number;
  duplicates: number;
  available: number;
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
  /** holders who opened the card's link carrying this outer_str (member cards: decrypt with the link's outer_str), once per code and day */
  opened: number;
}

export interface ChannelStats {
  rows: Array<ChannelRow>;
  /** the range was longer than 366 days: pass this as from for the rest */
  next_from?: string | null;
}

export interface Identity {
  unionid?: string | null;
  miniprogram_openid?: string | null;
  official_account_openid?: string | null;
  linked_by?: string | null;
}

export interface SelfConsumeCell {
  /** show the holder's self-redemption button on the card */
  is_open: boolean;
  /** the holder confirms with the store's verification code */
  need_verify_cod?: boolean;
  /** the holder types the amount spent */
  need_remark_amount?: boolean;
}

export interface SelfConsumeCellOut {
  /** show the holder's self-redemption button on the card */
  is_open: boolean;
  /** the holder confirms with the store's verification code */
  need_verify_cod?: boolean;
  /** the holder types the amount spent */
  need_remark_amount?: boolean;
  card_id?: string;
}

export interface PayCell {
  /** show WeChat Pay's quick-pay button on the card */
  is_open: boolean;
}

export interface PayCellOut {
  /** show WeChat Pay's quick-pay button on the card */
  is_open: boolean;
  card_id?: string;
}

export interface CodeMark {
  card_id: string;
  code: string;
  /** the OA openid of the user whose order uses the code (its holder) */
  openid: string;
  /** true marks the code for this order; false releases it */
  is_mark: boolean;
}

export interface ImageUpload {
  /** a JPG or PNG of at most 1 MB (judged by its bytes) */
  file: Blob;
}

export interface Image {
  /** the image on WeChat's image host: what logo_url, background_pic_url and landing-page banners take */
  url: string;
}

export interface Operator {
  name: string;
  role: "staff" | "marketing" | "admin";
}

export interface ConsoleSession {
  operator: Operator;
  /** send it as X-CSRF-Token with every request that changes state */
  csrf_token: string;
  /** seconds the session lives unused (BFF_CONSOLE_IDLE_SECONDS) */
  idle_timeout: number;
}

export interface SignIn {
  /** an operator's token, or BFF_ADMIN_TOKEN */
  token: string;
}

export interface AuditEntry {
  /** stream id; newer is larger */
  id: string;
  /** epoch seconds */
  at: number;
  /** the operator's name; break-glass (BFF_ADMIN_TOKEN); cli (a command) */
  operator: string;
  role: string;
  /** bearer, session or cli */
  via: string;
  /** the endpoint (blueprint.View), or the command (e.g. cards create) */
  action: string;
  /** HTTP method, or CLI */
  method: string;
  /** without the query string */
  path: string;
  /** HTTP status; a command's exit code */
  status: number;
  request_id: string | null;
}

export interface AuditPage {
  entries: Array<AuditEntry>;
  /** pass as before for older entries; null at the oldest */
  next_before: string | null;
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
  /** Redeem the caller's own code (where the card allows it), once */
  "POST /v1/cards/codes/redeem": {
    path: never;
    query: never;
    body: Redeem;
    response: RedeemOut;
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
      openid?: string;
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
      openid?: string;
      encrypt_type?: "aes";
      msg_signature?: string;
    };
    body: string;
    response: string;
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
  /** Broadcast a card message: to every follower or a tag (message/mass/sendall), or to 2-10,000 openids (message/mass/send) */
  "POST /v1/admin/broadcasts": {
    path: never;
    query: never;
    body: BroadcastRequest;
    response: BroadcastSent;
    status: 200;
  };
  /** What became of a broadcast: WeChat's MASSSENDJOBFINISH counts once pushed, else message/mass/get's status */
  "GET /v1/admin/broadcasts/{broadcast_id}": {
    path: {
      broadcast_id: string;
    };
    query: never;
    body: never;
    response: Broadcast;
    status: 200;
  };
  /** Preview a card message on one follower's phone (message/mass/preview), by openid or WeChat ID */
  "POST /v1/admin/broadcasts/preview": {
    path: never;
    query: never;
    body: PreviewRequest;
    response: Preview;
    status: 200;
  };
  /** Send one follower a customer-service card message (message/custom/send, wxcard) */
  "POST /v1/admin/card-messages": {
    path: never;
    query: never;
    body: CardMessageRequest;
    response: CardMessage;
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
  /** Redeem a code at the counter: query, then consume once (ledgered) */
  "POST /v1/admin/codes/redeem": {
    path: never;
    query: never;
    body: RedeemRequest;
    response: Redemption;
    status: 200;
  };
  /** The member's ledger: every change, who, why, when, before and after, and its source */
  "GET /v1/admin/members/{card_id}/{code}/changes": {
    path: {
      card_id: string;
      code: string;
    };
    query: never;
    body: never;
    response: Changes;
    status: 200;
  };
  /** Change a member's bonus and balance once (card/membercard/updateuser) */
  "POST /v1/admin/members/{card_id}/{code}/changes": {
    path: {
      card_id: string;
      code: string;
    };
    query: never;
    body: MemberChange;
    response: MemberChangeResult;
    status: 200;
  };
  /** Find members by code, membership number and Official Account openid */
  "GET /v1/admin/members": {
    path: never;
    query: {
      code?: string;
      membership_number?: string;
      oa_openid?: string;
    };
    body: never;
    response: Members;
    status: 200;
  };
  /** A member with what they filled in at activation (admin; the read is audited) */
  "GET /v1/admin/members/{card_id}/{code}": {
    path: {
      card_id: string;
      code: string;
    };
    query: never;
    body: never;
    response: MemberForm;
    status: 200;
  };
  /** Make a code unavailable, with a reason (card/code/unavailable); irreversible */
  "POST /v1/admin/codes/unavailable": {
    path: never;
    query: never;
    body: UnavailableRequest;
    response: Unavailable;
    status: 200;
  };
  /** Change a custom code (card/code/update); the holdings index follows */
  "POST /v1/admin/codes/update": {
    path: never;
    query: never;
    body: CodeUpdateRequest;
    response: CodeUpdate;
    status: 200;
  };
  /** A user's cards as WeChat sees them (card/user/getcardlist), reconciled into holdings */
  "GET /v1/admin/users/{oa_openid}/cards": {
    path: {
      oa_openid: string;
    };
    query: {
      card_id?: string;
    };
    body: never;
    response: UserCards;
    status: 200;
  };
  /** The Official Account's card ids, a page at a time (card/batchget, ≤ 50) */
  "GET /v1/admin/cards": {
    path: never;
    query: {
      offset?: number;
      count?: number;
      /** repeat to ask for several statuses */
      status?: Array<"CARD_STATUS_NOT_VERIFY" | "CARD_STATUS_VERIFY_FAIL" | "CARD_STATUS_VERIFY_OK" | "CARD_STATUS_DELETE" | "CARD_STATUS_DISPATCH">;
    };
    body: never;
    response: CardIds;
    status: 200;
  };
  /** Create a card (WeChat's card/create body); it waits for WeChat's review */
  "POST /v1/admin/cards": {
    path: never;
    query: never;
    body: CardCreate;
    response: CardCreated;
    status: 201;
  };
  /** The card as WeChat has it, with its review state and any low-stock alert */
  "GET /v1/admin/cards/{card_id}": {
    path: {
      card_id: string;
    };
    query: never;
    body: never;
    response: CardView;
    status: 200;
  };
  /** Change a card (card/update): base_info and type fields that WeChat lets change */
  "PATCH /v1/admin/cards/{card_id}": {
    path: {
      card_id: string;
    };
    query: never;
    body: CardChange;
    response: SendCheck;
    status: 200;
  };
  /** Delete a card (card/delete); codes already received stay in users' card packages */
  "DELETE /v1/admin/cards/{card_id}": {
    path: {
      card_id: string;
    };
    query: never;
    body: never;
    response: void;
    status: 204;
  };
  /** Add (delta > 0) or take away (delta < 0) stock (card/modifystock) */
  "POST /v1/admin/cards/{card_id}/stock": {
    path: {
      card_id: string;
    };
    query: never;
    body: Stock;
    response: Stock;
    status: 200;
  };
  /** The activation form last set through the service */
  "GET /v1/admin/cards/{card_id}/activation-form": {
    path: {
      card_id: string;
    };
    query: never;
    body: never;
    response: ActivationForm;
    status: 200;
  };
  /** Set the member card's activation form (activateuserform/set) */
  "PUT /v1/admin/cards/{card_id}/activation-form": {
    path: {
      card_id: string;
    };
    query: never;
    body: ActivationForm;
    response: ActivationForm;
    status: 200;
  };
  /** WeChat's card data (datacube) by day: account summary, per card, member cards */
  "GET /v1/admin/stats/wechat": {
    path: never;
    query: {
      /** summary: getcardbizuininfo, card: getcardcardinfo, member: getcardmembercardinfo */
      kind: "summary" | "card" | "member";
      /** first day (Asia/Shanghai); default to - 6 */
      from?: string | null;
      /** last day, inclusive; default yesterday */
      to?: string | null;
      /** kind=card only: one card */
      card_id?: string | null;
      /** 1: cards created through the API, 0: in the MP console */
      cond_source?: 0 | 1;
    };
    body: never;
    response: WeChatStats;
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
  /** Remove a wrong link: that openid no longer maps to the others (logged without ids) */
  "DELETE /v1/admin/identities": {
    path: never;
    query: {
      mp_openid?: string | null;
      oa_openid?: string | null;
    };
    body: never;
    response: void;
    status: 204;
  };
  /** Show or hide the holder's self-redemption button (card/selfconsumecell/set) */
  "PUT /v1/admin/cards/{card_id}/self-consume-cell": {
    path: {
      card_id: string;
    };
    query: never;
    body: SelfConsumeCell;
    response: SelfConsumeCellOut;
    status: 200;
  };
  /** Show or hide WeChat Pay's quick-pay button on the card (card/paycell/set) */
  "PUT /v1/admin/cards/{card_id}/pay-cell": {
    path: {
      card_id: string;
    };
    query: never;
    body: PayCell;
    response: PayCellOut;
    status: 200;
  };
  /** Mark a code for a user's online order, or release it (card/code/mark) */
  "POST /v1/admin/codes/mark": {
    path: never;
    query: never;
    body: CodeMark;
    response: CodeMark;
    status: 200;
  };
  /** Upload an image for cards (media/uploadimg): its URL on WeChat's image host */
  "POST /v1/admin/images": {
    path: never;
    query: never;
    body: ImageUpload;
    response: Image;
    status: 201;
  };
  /** The console's session: who is signed in, and its CSRF token (renews it) */
  "GET /v1/admin/session": {
    path: never;
    query: never;
    body: never;
    response: ConsoleSession;
    status: 200;
  };
  /** Sign the console in with an operator's token: a session cookie and its CSRF token */
  "POST /v1/admin/session": {
    path: never;
    query: never;
    body: SignIn;
    response: ConsoleSession;
    status: 201;
  };
  /** Sign the console out: the session ends on the server, the cookie is cleared */
  "DELETE /v1/admin/session": {
    path: never;
    query: never;
    body: never;
    response: void;
    status: 204;
  };
  /** Who changed what: operator requests and commands that change state, newest first */
  "GET /v1/admin/audit": {
    path: never;
    query: {
      limit?: number;
      /** the previous page's next_before: entries older than this one */
      before?: string | null;
    };
    body: never;
    response: AuditPage;
    status: 200;
  };
}
