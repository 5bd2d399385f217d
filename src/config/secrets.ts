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

/** Masks `secret` (a password from the configuration or a file) in everything maskSecrets sees from now on, as written
 *  and percent-decoded (libraries quote a URL's password either way). */
export function rememberSecret(secret: string | undefined): void {
  if (!secret) return;
  for (const form of [secret, percentDecoded(secret)]) if (form.length >= MIN_REMEMBERED_LENGTH) remembered.add(form);
}

function percentDecoded(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/**
 * Remembers the passwords of every URL and GStreamer password property in `text` (a configuration value, a --url), so
 * they are masked as literal strings too: in messages that quote them without their URL, in a URL that is not valid
 * (no "//", a bad port) or split differently by the library that prints it.
 */
export function rememberSecretsIn(text: string): void {
  for (const [token] of text.matchAll(LENIENT_URL)) {
    // Where a URL parser (mqtt.js, FFmpeg) would split it; without "//" or when it does not parse, as a lenient one
    // would: the password is what follows the first ":" of everything before the last "@".
    const parsed = token.includes('://') ? parsedUrl(token) : null;
    if (parsed) rememberSecret(parsed.password);
    else {
      const authority = token.replace(/^[a-z][a-z0-9+.-]*:(\/\/)?/i, '');
      const userinfo = authority.slice(0, authority.lastIndexOf('@'));
      if (userinfo.includes(':')) rememberSecret(userinfo.slice(userinfo.indexOf(':') + 1));
    }
  }
  for (const m of text.matchAll(GST_PASSWORD)) rememberSecret(m[2]!.replace(/^\\?["']|\\?["']$/g, ''));
}

/** A scheme, an optional "//", then up to whitespace or a double quote, with an "@" in it. */
const LENIENT_URL = /\b[a-z][a-z0-9+.-]*:(?:\/\/)?[^\s"`<>]*@[^\s"`<>]*/gi;

/** A URL-like token: a scheme, ://, then anything up to whitespace, a double quote or a bracket. ("!" and "'" are legal
 *  in a password; a GStreamer "!" stands apart, between spaces.) */
const URL_TOKEN = /\b[a-z][a-z0-9+.-]*:\/\/[^\s"`<>]+/gi;
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
  if (!userinfo && parsedUrl(token) === null) userinfo = rest.slice(0, Math.max(0, rest.lastIndexOf('@')));
  const colon = userinfo.indexOf(':');
  if (colon === -1) return token;
  return token.slice(0, afterScheme + colon + 1) + MASK + token.slice(afterScheme + userinfo.length);
}

function parsedUrl(token: string): URL | null {
  try {
    return new URL(token);
  } catch {
    return null;
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
