// The service this Mini Program calls and the cards it offers. Put the service's domain in the
// Mini Program's "request legal domains" (mp.weixin.qq.com → Development → Server domains).
// The tests point these at a `bff dev` and its sandbox's cards.
export default {
  baseUrl: 'https://api.example.com',
  couponCardId: 'pCOUPONCARDIDxxxxxxxxxxxxxxx', // a card_id (28 characters): POST /sandbox/_sim/cards, or `bff cards create` then approve it (README)
  memberCardId: 'pMEMBERCARDIDxxxxxxxxxxxxxxx'
}
