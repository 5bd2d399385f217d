/**
 * Turns what mqtt.js and Node's TLS report into one line that names the cause and the fix. The kinds decide how
 * loudly it is logged: a refused credential or certificate is an error the field engineer must act on; a broker that
 * is away is an outage the outbox rides out.
 */
export type FailureKind = 'credentials' | 'client-certificate' | 'server-certificate' | 'network';

export interface ConnectFailure {
  kind: FailureKind;
  /** The cause and the fix, without secrets. */
  explanation: string;
}

/** CONNACK codes: MQTT 3.1.1 (4, 5) and MQTT 5 (0x86 bad user name or password, 0x87 not authorized, 0x8C bad auth method). */
const CREDENTIAL_CODES = new Set([4, 5, 0x86, 0x87, 0x8c]);

export function explainConnectError(err: Error & { code?: string | number }): ConnectFailure {
  const code = err.code;
  const text = `${typeof code === 'string' ? code : ''} ${err.message}`;
  const reason = shortReason(err.message);
  if (
    (typeof code === 'number' && CREDENTIAL_CODES.has(code)) ||
    /not authori[sz]ed|bad user ?name or password/i.test(err.message)
  ) {
    return {
      kind: 'credentials',
      explanation: `the broker refused the credentials (${reason}): check mqtt.username and mqtt.password or mqtt.passwordFile, and the broker's password file or ACL`,
    };
  }
  if (
    /CERTIFICATE_REQUIRED|certificate required|HANDSHAKE_FAILURE|BAD_CERTIFICATE|UNKNOWN_CA|CERTIFICATE_UNKNOWN|alert (bad|unknown) certificate/i.test(
      text,
    )
  ) {
    return {
      kind: 'client-certificate',
      explanation: `the broker rejected the TLS client authentication (${reason}): set mqtt.cert and mqtt.key to a certificate signed by a CA the broker trusts (and not expired)`,
    };
  }
  if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|ALTNAME|certificate/i.test(text)) {
    return {
      kind: 'server-certificate',
      explanation: `the broker's TLS certificate is not trusted (${reason}): set mqtt.ca to the CA that signed it, and use the host name the certificate names in mqtt.url`,
    };
  }
  const hint =
    code === 'ECONNREFUSED'
      ? 'nothing listens there: is the broker running, and are the host and port of mqtt.url right?'
      : code === 'ENOTFOUND' || code === 'EAI_AGAIN'
        ? 'host name not found: check mqtt.url and DNS'
        : 'check mqtt.url and that the broker is reachable';
  return { kind: 'network', explanation: `${reason}: ${hint}` };
}

/** OpenSSL's "…:error:0A00045C:SSL routines:ssl3_read_bytes:tlsv13 alert certificate required:…" → "tlsv13 alert certificate required". */
function shortReason(message: string): string {
  const openssl = /SSL routines:[^:]*:([^:]+)/.exec(message);
  return (openssl ? openssl[1]! : message.split('\n')[0]!).trim();
}
