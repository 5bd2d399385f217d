// A node:test reporter for test/run.mjs: one JSON line per skipped test ({skip: {file, name, reason}}). Node's TAP
// summary only counts skips; the CI skip policy needs to know which tests skipped and why.
export default async function* runReport(source) {
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    const { skip, name, file } = event.data;
    if (skip === undefined || skip === false) continue;
    yield `${JSON.stringify({ skip: { file: file ?? null, name, reason: typeof skip === 'string' ? skip : '(no reason given)' } })}\n`;
  }
}
