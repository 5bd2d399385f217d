// node's TAP reporter, with the CI skip policy (test/skip-policy.mjs) applied: under CI=true a skip that is not on the
// allow-list is reported as a failure (`not ok … skipped in CI: <reason>`) and counted in the final `# fail N`, so the
// run still ends with node's own summary and its counts say what happened.
import { tap } from 'node:test/reporters';
import { IN_CI, ciSkipFailure } from './skip-policy.mjs';

function skipReason(data) {
  if (data.skip === undefined || data.skip === false) return null;
  return typeof data.skip === 'string' ? data.skip : '(no reason given)';
}

async function* applyPolicy(source) {
  let failedSkips = 0;
  for await (const event of source) {
    const reason = event.type === 'test:pass' ? skipReason(event.data) : null;
    const failure = IN_CI && reason !== null ? ciSkipFailure(reason) : null;
    if (failure !== null) {
      failedSkips++;
      const error = Object.assign(new Error(failure), { failureType: 'testCodeFailure', code: 'ERR_TEST_FAILURE' });
      const { skip: _skip, ...data } = event.data;
      yield { type: 'test:fail', data: { ...data, details: { ...data.details, error } } };
      continue;
    }
    if (failedSkips > 0 && event.type === 'test:diagnostic' && event.data.nesting === 0) {
      const count = /^(fail|skipped) (\d+)$/.exec(event.data.message);
      if (count) {
        const n = Number(count[2]) + (count[1] === 'fail' ? failedSkips : -failedSkips);
        yield { ...event, data: { ...event.data, message: `${count[1]} ${n}` } };
        continue;
      }
    }
    yield event;
  }
}

export default async function* ciReporter(source) {
  yield* tap(applyPolicy(source));
}
