/**
 * Masks credentials wherever avscene shows text: configuration printouts, log lines, error messages. Passwords hide in
 * URLs (mqtt://user:pw@broker, rtsp://user:pw@camera/…) and in GStreamer pipelines (`rtspsrc location=rtsp://user:pw@…`,
 * `user-pw=…`, `proxy-pw=…`), whatever config key holds them, so masking works on text, not on known keys. Secrets that
 * have no such shape (the value of a schema key marked sensitive, a password read from a file) are remembered when they
 * are loaded and masked wherever they appear.
 */

export const MASK = '***';

/** Shorter remembered secrets are not masked by value (masking every "ab" in a log would garble it, and say little). */
const MIN_REMEMBERED_LENGTH = 4;
const remembered = new Set<string>();

/** Masks `secret` (a password from the configuration or a file) in everything maskSecrets sees from now on. */
export function rememberSecret(secret: string | undefined): void {
  if (secret && secret.length >= MIN_REMEMBERED_LENGTH) remembered.add(secret);
}

/** A URL-like token: a scheme, ://, then anything up to whitespace, a quote or the end of a GStreamer element. */
const URL_TOKEN = /\b[a-z][a-z0-9+.-]*:\/\/[^\s"'`<>!]+/gi;
/** GStreamer's password properties (rtspsrc user-pw; souphttpsrc user-pw, proxy-pw): quoted, quoted inside a JSON string
 *  (a log line), or bare. */
const GST_PASSWORD = /\b((?:user|proxy)-pw\s*=\s*)(\\"[^"]*?\\"|"[^"]*"|'[^']*'|(?:\\\\|[^\s!"'\\])+)/gi;

/** `text` with every password in a URL or a GStreamer pipeline replaced by ***; the rest stays as written. */
export function maskSecrets(text: string): string {
  let masked = text;
  for (const secret of remembered) if (masked.includes(secret)) masked = masked.split(secret).join(MASK);
  if (!masked.includes('://') && !/-pw/i.test(masked)) return masked; // the common case: a log line without credentials
  return masked.replace(URL_TOKEN, maskUrlPassword).replace(GST_PASSWORD, (_, key: string) => `${key}${MASK}`);
}

/**
 * Masks the password of one URL as written. The userinfo ends at the last "@" before the path, as URL parsers read it
 * ("@" inside a password is taken as part of it). A token that is not a valid URL but looks like one with a password
 * (e.g. an unencoded "/" in the password) is masked up to its last "@" rather than risk showing part of the secret.
 */
function maskUrlPassword(token: string): string {
  const afterScheme = token.indexOf('://') + 3;
  const rest = token.slice(afterScheme);
  const authorityEnd = rest.search(/[/?#]/);
  const authority = authorityEnd === -1 ? rest : rest.slice(0, authorityEnd);
  let userinfo = authority.slice(0, Math.max(0, authority.lastIndexOf('@')));
  if (!userinfo && isInvalidUrl(token)) userinfo = rest.slice(0, Math.max(0, rest.lastIndexOf('@')));
  const colon = userinfo.indexOf(':');
  if (colon === -1) return token;
  return token.slice(0, afterScheme + colon + 1) + MASK + token.slice(afterScheme + userinfo.length);
}

function isInvalidUrl(token: string): boolean {
  try {
    new URL(token);
    return false;
  } catch {
    return true;
  }
}

/** A deep copy of a JSON value (configuration printout, log object) with every string masked. */
export function maskSecretsDeep<T>(value: T): T {
  if (typeof value === 'string') return maskSecrets(value) as T;
  if (Array.isArray(value)) return value.map((v: unknown) => maskSecretsDeep(v)) as T;
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, maskSecretsDeep(v)])) as T;
  }
  return value;
}
