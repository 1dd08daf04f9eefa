import type { CodeInfo, Redemption } from './openapi.js'
import { BffClient, ClientOptions } from './index.js'

export interface StaffOptions extends ClientOptions {
  /** an operator token of role staff (bff operators add NAME --role staff): staff devices only */
  adminToken: string
}

export interface CodeQuery { cardId?: string, code?: string, encryptCode?: string }

export class StaffClient extends BffClient {
  constructor(options: StaffOptions)
  queryCode(options: CodeQuery): Promise<CodeInfo>
  redeemCode(options: CodeQuery & { staffId?: string, location?: string, idempotencyKey?: string }): Promise<Redemption>
}

export function createStaffClient(options: StaffOptions): StaffClient
