// Workload 3 of scripts/bench, JavaScript side: cozy-konnector-libs 5.13.0 saveBills of BENCH_BILLS bills
// with PDFs from BENCH_PDF_URL into the stack emulator, in dev mode (NODE_ENV=development; standalone mode
// cannot save files since 5.4.0). The bills are the ones
// benchlib/w_save_py.py saves: keep both in step.
//
// Run by the harness as:
//   NODE_ENV=development COZY_URL=<emulator> COZY_CREDENTIALS=<token>
//   COZY_FIELDS='{"account":"bench-account","folder_to_save":"<dir id>"}'
//   BENCH_BILLS=1000 BENCH_PDF_URL=<pdf server> BENCH_CONTROL_URL=<emulator control> BENCH_CONCURRENCY=4
//   node index.js
// It prints one line `BENCH {"save_s":..., "requests":...}` (requests = emulator requests during saveBills).
'use strict'

const { BaseKonnector } = require('cozy-konnector-libs')

const count = Number(process.env.BENCH_BILLS || 1000)
const pdfUrl = process.env.BENCH_PDF_URL
const controlUrl = process.env.BENCH_CONTROL_URL
const concurrency = process.env.BENCH_CONCURRENCY ? Number(process.env.BENCH_CONCURRENCY) : undefined

function pad(number, width) {
  return String(number).padStart(width, '0')
}

function bills() {
  const out = []
  const start = Date.UTC(2000, 0, 1)
  for (let i = 0; i < count; i++) {
    const amount = Math.round((5 + ((i * 37) % 20000) / 100) * 100) / 100
    out.push({
      vendor: 'Bench Vendor',
      date: new Date(start + i * 7 * 3600 * 1000),
      amount,
      currency: 'EUR',
      vendorRef: `R${pad(i, 7)}`,
      filename: `${pad(i, 5)}_bench_${amount.toFixed(2)}EUR.pdf`,
      fileurl: `${pdfUrl}/bill/${pad(i, 5)}.pdf`
    })
  }
  return out
}

async function requestsSoFar() {
  const answer = await fetch(`${controlUrl}/requests`)
  return (await answer.json()).count
}

async function start(fields) {
  const entries = bills()
  // saveFiles' default timeout is module load + 4 min, after which it gives up on the remaining entries
  // and resolves: that would time a half-done job. The bench wants the whole job, however long it takes.
  const options = { identifiers: ['bench'], fileIdAttributes: ['vendorRef'], timeout: Date.now() + 3 * 3600 * 1000 }
  if (concurrency !== undefined) options.concurrency = concurrency
  const before = await requestsSoFar()
  const started = process.hrtime.bigint()
  await this.saveBills(entries, fields, options)
  const seconds = Number(process.hrtime.bigint() - started) / 1e9
  const requests = (await requestsSoFar()) - before
  console.log('BENCH ' + JSON.stringify({ bills: count, save_s: seconds, requests, concurrency: concurrency || 1 }))
}

module.exports = new BaseKonnector(start)
