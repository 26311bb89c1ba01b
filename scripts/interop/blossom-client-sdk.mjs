// The reference Blossom client library (blossom-client-sdk) against a
// samizdat node: upload (with its HEAD /upload check and URL-safe,
// unpadded authorization), has, download, list and delete; a photo that
// still carries its GPS position is refused, whatever the client.
// Usage: node blossom-client-sdk.mjs http://127.0.0.1:PORT CLEAN-PHOTO PHOTO-WITH-GPS
// Every wait has a deadline; any failure exits non-zero.

import { readFileSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { Actions, createUploadAuth, createDeleteAuth, createListAuth } from 'blossom-client-sdk'
import { finalizeEvent, generateSecretKey, getPublicKey } from 'nostr-tools/pure'

const [server, cleanPath, dirtyPath] = process.argv.slice(2)
if (!server || !cleanPath || !dirtyPath) {
  console.error('usage: node blossom-client-sdk.mjs http://HOST:PORT CLEAN-PHOTO PHOTO-WITH-GPS')
  process.exit(2)
}

function check(condition, message) {
  if (!condition) throw new Error(message)
  console.log(`ok - ${message}`)
}

const sk = generateSecretKey()
const pk = getPublicKey(sk)
const signer = async (draft) => finalizeEvent(draft, sk)
const timeout = 20000
const onAuth = async (_server, sha256) => createUploadAuth(signer, sha256)

async function main() {
  // A clean photo, as `testimony add --attach` leaves it.
  const clean = new Blob([readFileSync(cleanPath)], { type: 'image/jpeg' })
  const photo = await Actions.uploadBlob(server, clean, { onAuth, timeout })
  check(photo.type === 'image/jpeg', `a clean photo uploads (${photo.sha256.slice(0, 12)}…)`)

  // An encrypted file: bytes of no format, as a sealed file is.
  const sealed = new Blob([randomBytes(20000)])
  const blob = await Actions.uploadBlob(server, sealed, { onAuth, timeout })
  check(blob.size === 20000 && blob.type === 'application/octet-stream', 'an encrypted file uploads')

  check(await Actions.hasBlob(server, blob.sha256, { timeout }), 'has: the node holds it')
  const response = await Actions.downloadBlob(server, blob.sha256, { timeout })
  const got = Buffer.from(await response.arrayBuffer())
  const sent = Buffer.from(await sealed.arrayBuffer())
  check(got.equals(sent), 'download gives the same bytes')

  const listed = await Actions.listBlobs(server, pk, {
    timeout,
    onAuth: async () => createListAuth(signer),
  })
  const hashes = listed.map((b) => b.sha256)
  check(hashes.includes(blob.sha256) && hashes.includes(photo.sha256), 'list names both uploads')

  const deleted = await Actions.deleteBlob(server, blob.sha256, {
    timeout,
    onAuth: async (_server, sha256) => createDeleteAuth(signer, sha256),
  })
  check(deleted, 'delete is accepted')
  check(!(await Actions.hasBlob(server, blob.sha256, { timeout })), 'has: gone after delete')

  // A photo with its GPS position: refused, with what it carries.
  const dirty = new Blob([readFileSync(dirtyPath)], { type: 'image/jpeg' })
  let refused = null
  try {
    await Actions.uploadBlob(server, dirty, { onAuth, timeout })
  } catch (e) {
    refused = e
  }
  check(refused !== null && /metadata/.test(String(refused.message || refused)), `a photo with GPS is refused (${refused})`)
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(`not ok - ${e.stack || e}`)
    process.exit(1)
  },
)
