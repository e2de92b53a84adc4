// Module hook for the test runs (scripts/run-tests.mjs loads it): uvu's reporter prints
// `err.details` as a string (`details.split`), so an escaping ApprError, whose `details` is an
// object, made the reporter itself throw and the failure was counted but never shown. This
// rewrites that one line of uvu as it loads to print non-string details as JSON.
const FROM = "if (details) str += GUTTER + details.split('\\n').join(GUTTER);"
const TO =
  "if (details) str += GUTTER + (typeof details === 'string' ? details : (err.code === undefined ? '' : 'code: ' + err.code + ', ') + 'details: ' + JSON.stringify(details)).split('\\n').join(GUTTER);"

export async function load(url, context, nextLoad) {
  const result = await nextLoad(url, context)
  if (!/\/uvu\/dist\/index\.mjs$/.test(url) || result.source === undefined) return result
  const source = String(result.source)
  if (!source.includes(FROM)) {
    process.stderr.write('[uvu-readable-errors] uvu changed: its reporter line was not found, ApprError failures may be unreadable\n')
    return result
  }
  return { ...result, source: source.replace(FROM, TO) }
}
