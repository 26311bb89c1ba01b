// A stock Nostr client (nostr-tools) against a samizdat node: publish,
// subscribe, live events, COUNT, NIP-50 search, a refused forgery, NIP-11,
// and a compressed link (permessage-deflate as the ws package does it).
// Usage: node nostr-tools.mjs ws://127.0.0.1:PORT
// Every wait has a deadline; any failure exits non-zero.

import { Relay, useWebSocketImplementation } from 'nostr-tools/relay'
import { finalizeEvent, generateSecretKey, getPublicKey } from 'nostr-tools/pure'
import WebSocket from 'ws'

useWebSocketImplementation(WebSocket)

const url = process.argv[2]
if (!url) {
  console.error('usage: node nostr-tools.mjs ws://HOST:PORT')
  process.exit(2)
}

const DEADLINE_MS = 20000
const within = (promise, what) =>
  Promise.race([
    promise,
    new Promise((_, reject) => setTimeout(() => reject(new Error(`timed out: ${what}`)), DEADLINE_MS)),
  ])

function check(condition, message) {
  if (!condition) throw new Error(message)
  console.log(`ok - ${message}`)
}

const sk = generateSecretKey()
const pk = getPublicKey(sk)
const now = () => Math.floor(Date.now() / 1000)
const note = (content, tags = []) =>
  finalizeEvent({ kind: 1, created_at: now(), tags, content }, sk)

async function main() {
  const publisher = await within(Relay.connect(url), 'connect')
  const reader = await within(Relay.connect(url), 'connect')

  const first = note('Свидетельство: задержания у акимата', [['t', 'interop']])
  await within(publisher.publish(first), 'publish')
  check(true, 'publish is acknowledged')

  // Stored events up to EOSE, then a live one on the same subscription.
  const seen = []
  let eose
  const eosed = new Promise((resolve) => (eose = resolve))
  let live
  const gotLive = new Promise((resolve) => (live = resolve))
  const sub = reader.subscribe([{ authors: [pk], kinds: [1] }], {
    onevent(event) {
      seen.push(event.id)
      if (seen.length === 2) live(event)
    },
    oneose() {
      eose()
    },
  })
  await within(eosed, 'EOSE')
  check(seen.length === 1 && seen[0] === first.id, 'the stored event arrives before EOSE')
  const second = note('second, live', [['t', 'interop']])
  await within(publisher.publish(second), 'publish')
  const received = await within(gotLive, 'live event')
  check(received.id === second.id, 'a live subscriber receives the new event')
  sub.close()

  const count = await within(reader.count([{ '#t': ['interop'] }], {}), 'COUNT')
  check(count === 2, `COUNT says 2 (got ${count})`)

  const found = []
  await within(
    new Promise((resolve) => {
      const s = reader.subscribe([{ search: 'ЗАДЕРЖАНИЯ акимат' }], {
        onevent(event) {
          found.push(event.id)
        },
        oneose() {
          s.close()
          resolve()
        },
      })
    }),
    'search',
  )
  check(found.length === 1 && found[0] === first.id, 'NIP-50 search finds the Cyrillic text in any case')

  const forged = { ...note('forged'), content: 'altered after signing' }
  let refused = ''
  try {
    await within(publisher.publish(forged), 'publish forged')
  } catch (e) {
    refused = String(e.message || e)
  }
  check(refused.startsWith('invalid:'), `a forged event is refused (${refused})`)

  const info = await within(
    fetch(url.replace(/^ws/, 'http'), { headers: { Accept: 'application/nostr+json' } }).then((r) => r.json()),
    'NIP-11',
  )
  check(info.supported_nips.includes(77), 'NIP-11 lists the supported NIPs')

  // ws offers permessage-deflate; the node takes it, and what it sends
  // compressed, ws reads: the stored events come back whole.
  const raw = new WebSocket(url, { perMessageDeflate: { threshold: 0 } })
  await within(new Promise((resolve, reject) => {
    raw.once('open', resolve)
    raw.once('error', reject)
  }), 'raw connect')
  check(raw.extensions.includes('permessage-deflate'), `permessage-deflate is negotiated (${raw.extensions})`)
  const fetched = []
  await within(new Promise((resolve, reject) => {
    raw.on('message', (data) => {
      const message = JSON.parse(data.toString())
      if (message[0] === 'EVENT' && message[1] === 'z') fetched.push(message[2])
      if (message[0] === 'EOSE' && message[1] === 'z') resolve()
      if (message[0] === 'CLOSED') reject(new Error(`CLOSED: ${message[2]}`))
    })
    raw.send(JSON.stringify(['REQ', 'z', { authors: [pk] }]))
  }), 'compressed REQ')
  check(fetched.length === 2 && fetched.some((e) => e.content === first.content),
    `compressed messages arrive whole both ways (${fetched.length} events)`)
  raw.close()

  publisher.close()
  reader.close()
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(`not ok - ${e.message || e}`)
    process.exit(1)
  },
)
