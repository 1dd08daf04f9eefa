// Declarations of the bff client. The request and answer types come from openapi.d.ts, which is
// generated from openapi/openapi.json (node clients/js/scripts/gen-types.mjs).
import type {
  Activation, Capabilities, ChooseCardOut, Code, Error as ErrorBody, JssdkConfigOut, Me, MemberInfo,
  MineItem, PluginExtraData, RedeemOut, Session
} from './openapi.js'

export type * from './openapi.js'

export interface Storage {
  getItem(key: string): string | null
  setItem(key: string, value: string): void
  removeItem(key: string): void
}

export interface TransportRequest {
  method: string
  url: string
  headers: Record<string, string>
  body?: unknown
}

export interface TransportResponse {
  status: number
  header(name: string): string | null
  data: unknown
}

export type Transport = (request: TransportRequest) => Promise<TransportResponse>

export interface ClientOptions {
  /** The service's base URL, e.g. https://api.example.com */
  baseUrl: string
  /** WeChat's `wx`: the Mini Program's, or the JS-SDK's in H5 (default: globalThis.wx) */
  wx?: any
  /** Detected from `wx` (wx.request + wx.login: Mini Program) */
  platform?: 'miniprogram' | 'h5'
  fetch?: typeof fetch
  transport?: Transport
  /** Where the session token is kept (default: wxStorage(wx) in a Mini Program, kept across launches; else memory) */
  storage?: Storage
  /** H5 login: the Official Account's appId for the web-authorization redirect */
  appId?: string
  /** Default https://open.weixin.qq.com/connect/oauth2/authorize; the sandbox's is {base}/sandbox/connect/oauth2/authorize */
  authorizeUrl?: string
  scope?: 'snsapi_base' | 'snsapi_userinfo'
  /** H5 login: gives the web-authorization code (default: ?code= of the page URL) */
  h5Code?: () => string | null
  location?: { href: string, assign?(url: string): void }
  /** Sent as ?ua= to capabilities() */
  userAgent?: string
  /** Extra attempts of an idempotent call after 429/503 or no answer (default 2) */
  maxRetries?: number
  /** Extra attempts of an idempotent call answered 409 with Retry-After: the service waits on
   * WeChat, e.g. its user_get_card push right after wx.addCard (default 5) */
  maxConflictRetries?: number
  /** Longest Retry-After (ms) waited out; a longer one is the caller's (default 10000) */
  maxRetryWait?: number
  sleep?: (ms: number) => Promise<void>
}

/** A non-2xx answer: the service's one error shape. */
export class BffError extends Error {
  code: number
  status: string
  message: string
  errors?: Record<string, unknown>
  errcode?: number
  requestId: string | null
  /** seconds, from Retry-After */
  retryAfter: number | null
  method: string
  path: string
  toJSON(): ErrorBody & { errcode?: number }
}

export class NetworkError extends Error {
  cause: unknown
  method: string
  path: string
}

/** A wx API failed or was cancelled; errMsg is WeChat's ("addCard:cancel", "config:invalid signature"). */
export class WxError extends Error {
  api: string
  errMsg: string
  cancelled: boolean
  result: unknown
}

export interface CardRef { card_id?: string, cardId?: string, code: string }

export interface ActivationPluginParams {
  /** the plug-in's appId, for wx.navigateToMiniProgram */
  appId: string
  extraData: PluginExtraData
  /** WeChat's activation URL (H5) */
  url: string
}

export interface ActivationReturn {
  activateTicket: string
  cardId: string
  encryptCode?: string
  code?: string
}

/** What WeChat appends to a card's link (cardLink). */
export interface CardLink {
  encryptCode: string
  cardId?: string
  openid?: string
  outerStr?: string
}

/** Where a card link's parameters are read: a URL, or a Mini Program page's onLoad options. */
export type CardLinkSource = string | { encrypt_code?: string, card_id?: string, openid?: string, outer_str?: string }

export interface JssdkConfig extends JssdkConfigOut {
  debug: boolean
  jsApiList: string[]
}

export class BffClient {
  constructor(options: ClientOptions)
  readonly platform: 'miniprogram' | 'h5'
  token: string | null
  login(): Promise<Session>
  logout(): Promise<void>
  authorizeUrl(redirectUri?: string, state?: string): string
  me(): Promise<Me>
  addCards(cardIds: string[], options?: { outerStr?: string }): Promise<Code[]>
  decrypt(encryptCode: string, cardId?: string): Promise<Code>
  cardLink(source?: CardLinkSource): CardLink | null
  cardFromLink(source?: CardLinkSource): Promise<(Code & { outer_str?: string }) | null>
  myCards(): Promise<MineItem[]>
  /** H5: {encryptCode, cardId} that WeChat appended to a card's link (default: this page's URL), or null */
  cardFromUrl(url?: string): CardLink | null
  openCards(cards?: CardRef[]): Promise<Array<{ cardId: string, code: string }>>
  chooseCard(options?: { cardId?: string, cardType?: string, shopId?: string }): Promise<Code[]>
  redeem(options: { cardId: string, code?: string, encryptCode?: string, idempotencyKey?: string }): Promise<RedeemOut>
  jssdkConfig(url?: string, jsApiList?: string[]): Promise<JssdkConfig>
  activationPlugin(cardId: string, options?: { outerStr?: string }): Promise<ActivationPluginParams>
  openActivationPlugin(cardId: string, options?: { outerStr?: string }): Promise<unknown>
  activationReturn(source: string | { referrerInfo?: { extraData?: object } } | object): ActivationReturn | null
  /** null (nothing to activate: activationReturn gave null) resolves to null */
  activate(returned: ActivationReturn): Promise<Activation>
  activate(returned: ActivationReturn | null): Promise<Activation | null>
  memberCard(cardId: string): Promise<MemberInfo>
  capabilities(options?: { userAgent?: string }): Promise<Capabilities>
  request<T = unknown>(method: string, path: string, options?: {
    body?: unknown, auth?: boolean, idempotent?: boolean, relogin?: boolean
  }): Promise<T>
}

export function createClient(options: ClientOptions): BffClient
export function fetchTransport(fetchImpl?: typeof fetch): Transport
export function wxRequestTransport(wx: any): Transport
/** The Mini Program's storage (wx.getStorageSync/setStorageSync/removeStorageSync) as a Storage */
export function wxStorage(wx: any): Storage
/** A Storage in memory: the token lives as long as the page */
export function memoryStorage(): Storage
export function retryAfterMs(value: string | null | undefined, now?: number): number | null
