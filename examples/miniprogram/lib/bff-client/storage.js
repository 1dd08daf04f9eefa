// Where the session token is kept: a Mini Program's own storage (kept across launches), or memory.

/** An in-memory store: the token lives as long as the page (the default in H5). */
export function memoryStorage () {
  const m = new Map()
  return { getItem: (k) => m.get(k) ?? null, setItem: (k, v) => { m.set(k, v) }, removeItem: (k) => { m.delete(k) } }
}

/**
 * A store on wx.getStorageSync / setStorageSync / removeStorageSync: the Mini Program's storage,
 * kept across launches, so a launch does not log in again while the session lives (the default in
 * a Mini Program). getStorageSync answers '' for a missing key; a storage failure (full, or not
 * allowed) loses nothing but the token: the next call logs in again.
 */
export function wxStorage (wx) {
  return {
    getItem (k) {
      try {
        const v = wx.getStorageSync(k)
        return typeof v === 'string' && v !== '' ? v : null
      } catch { return null }
    },
    setItem (k, v) {
      try { wx.setStorageSync(k, v) } catch {}
    },
    removeItem (k) {
      try { wx.removeStorageSync(k) } catch {}
    }
  }
}
