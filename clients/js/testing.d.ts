// Declarations of bff-client/testing: a real `bff dev`, its simulator, and `wx` stand-ins.
import type { ActivationReturn, Storage } from './index.js'

export const ADMIN_TOKEN: string
export const SANDBOX_APPID: string

export function freePort(): Promise<number>

export interface RunningBff {
  /** e.g. http://127.0.0.1:54321 */
  base: string
  port: number
  stop(): Promise<void>
  output(): string
}

/** `bff dev` on a free port (command: $BFF_BIN, the repository's .venv/bin/bff, or `bff`) */
export function startBff(env?: Record<string, string>, options?: { command?: string, cwd?: string }): Promise<RunningBff>

export interface SimUser { mp_openid: string, oa_openid: string, unionid?: string }

/** The simulator (/sandbox/_sim/*) and the operator endpoints, for setting up a story */
export class Sandbox {
  constructor(base: string)
  base: string
  post(path: string, body?: object, headers?: Record<string, string>): Promise<any>
  sim(path: string, body?: object): Promise<any>
  /** a new simulated user */
  user(): Promise<SimUser>
  /** a new card, e.g. {card_type: 'GROUPON'} or {card_type: 'MEMBER_CARD'}; resolves to its card_id */
  card(body?: object): Promise<string>
  /** make WeChat fail at `path`, e.g. fault('card/code/decrypt', {errcode: -1, count: 3}) */
  fault(path: string, fault: object): Promise<any>
  clearFaults(): Promise<Response>
  calls(): Promise<Record<string, number>>
  tickets(): Promise<Record<string, string>>
  /** PUT /v1/admin/cards/{card_id}/profile with the operator token */
  profile(cardId: string, profile: object): Promise<void>
}

export interface WxStandInOptions {
  platform?: 'miniprogram' | 'h5'
  /** spoil each cardExt's signature before the sandbox checks it */
  tamper?: boolean
  /** the activation form's answers, WeChat's names: {USER_FORM_INFO_FLAG_MOBILE: '139...'} */
  form?: Record<string, string>
  /** H5: the page URL wx.config is checked against */
  pageUrl?: string
  /** behind wx.get/set/removeStorageSync; the same Map in a second stand-in plays a relaunch */
  storage?: Map<string, unknown>
}

export interface AppShowOptions {
  scene: number
  referrerInfo: { appId: string, extraData: Record<string, string> }
}

export interface WxStandIn {
  [api: string]: any
  log: {
    login: number
    openCard: Array<Array<{ cardId: string, code: string }>>
    navigate: Array<{ appId: string, extraData: object }>
    /** what the activation plug-in handed back: {activate_ticket, card_id, encrypt_code} */
    returned: Record<string, string> | null
    /** what App.onShow(options) gets when the user comes back from the plug-in */
    returnOptions: AppShowOptions | null
    config: object | null
  }
  /** {card_id, encrypt_code} of the cards taken through this stand-in (its chooseCard offers them) */
  held: Array<{ card_id: string, encrypt_code: string }>
  storage: Map<string, unknown>
}

/** WeChat's `wx` as `user` sees it, its card APIs played by the sandbox */
export function wxStandIn(sandbox: Sandbox, user: SimUser, options?: WxStandInOptions): WxStandIn

export type { ActivationReturn, Storage }
