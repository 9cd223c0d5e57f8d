// Runs cozy-konnector-libs 5.13.0's own hydrateAndFilter and linkBankOperations on the cases of
// tests/save/js/generate_cases.py (JSON on stdin) and writes their outputs (JSON) to the file named by
// its argument (stdout carries the library's own log lines). The Cozy
// client the library requires is replaced by an in-memory one holding each case's stored documents, so
// what runs is the library's own matching code, nothing else. Run with TZ=UTC (the library builds dates
// in local time) and NODE_PATH pointing to a node_modules holding cozy-konnector-libs 5.13.0.
'use strict'

const path = require('path')
const libs = path.dirname(require.resolve('cozy-konnector-libs/package.json'))
const client = { data: {}, fetchJSON: async () => ({}) }
const clientPath = require.resolve(path.join(libs, 'dist/libs/cozyclient'))
require.cache[clientPath] = { id: clientPath, filename: clientPath, loaded: true, exports: client }
const utils = require(path.join(libs, 'dist/libs/utils'))
const get = require('lodash/get')
let stored = []
utils.queryAll = async () => stored.map(doc => JSON.parse(JSON.stringify(doc)))
const hydrateAndFilter = require(path.join(libs, 'dist/libs/hydrateAndFilter'))
const { Linker } = require(path.join(libs, 'dist/libs/linkBankOperations'))

async function hydrate(one) {
  stored = one.stored
  client.data.defineIndex = async () => 'index'
  const incoming = JSON.parse(JSON.stringify(one.incoming))
  const kept = await hydrateAndFilter(incoming, one.doctype, { keys: one.keys })
  // The library's own createHash, to tell which stored documents it considers the same.
  const hash = doc => one.keys.map(key => {
    let result = get(doc, key)
    if (key === 'date') result = new Date(result)
    return result
  }).join('####')
  return {
    stored_keys: Object.fromEntries(one.stored.map(doc => [doc._id, hash(doc)])),
    matched: incoming.map(doc => doc._id || null),
    kept: kept.map(doc => incoming.indexOf(doc))
  }
}

async function link(one) {
  const operations = JSON.parse(JSON.stringify(one.operations))
  client.data.findAll = async () => operations
  const committed = []
  client.fetchJSON = async (method, url, body) => { committed.push(...body.docs); return [] }
  const linker = new Linker(client)
  const options = Object.assign({}, one.options)
  if (one.bills_to_remove) options.billsToRemove = one.bills_to_remove
  const result = await linker.linkBillsToOperations(JSON.parse(JSON.stringify(one.bills)), options)
  const links = {}
  for (const [id, res] of Object.entries(result)) {
    links[id] = { debit: res.debitOperation ? res.debitOperation._id : null,
                  credit: res.creditOperation ? res.creditOperation._id : null }
  }
  const after = {}
  for (const op of operations) after[op._id] = { bills: op.bills || [], reimbursements: op.reimbursements || [] }
  return { links, operations: after, changed: [...new Set(committed.map(op => op._id))].sort() }
}

async function main() {
  let input = ''
  for await (const chunk of process.stdin) input += chunk
  const cases = JSON.parse(input)
  const out = { hydrate: [], linker: [] }
  for (const one of cases.hydrate) out.hydrate.push(await hydrate(one))
  for (const one of cases.linker) out.linker.push(await link(one))
  require('fs').writeFileSync(process.argv[2], JSON.stringify(out))
}

main().catch(err => { console.error(err); process.exit(1) })
