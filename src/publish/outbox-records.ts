/**
 * The outbox's on-disk record format, and reading it back whatever the card did to it.
 *
 * A record is one line: `<seq>\t<capturedAt ms>\t<topic>\t<payload>\t<crc32>\n`, the CRC-32 (8 hex digits) over
 * everything before its tab. JSON payloads never contain a raw tab or newline, so a line is a record and a record a
 * line. At load every record is checked (CRC, fields, JSON); a bad one is skipped and reported with its file and
 * offset, and never hides the records after it: a byte flipped in a newline glues two records into one line, and the
 * intact one is found inside it.
 *
 * Segments of the previous release (`.seg`, no CRC: `<seq>\t<capturedAt>\t<topic>\t<payload>\n`) are still read, so a
 * device updated with windows in its outbox loses none; new segments are `.rec`.
 */
import { crc32 } from 'node:zlib';

export interface OutboxRecord {
  seq: number;
  capturedAt: number;
  topic: string;
  payload: string;
}

/** Where a record that failed its checks starts. */
export interface BadRecord {
  file: string;
  offset: number;
  /** The last line of the file without its newline: cut by a failed write or a power cut. */
  cut: boolean;
}

/** `<first seq, 12 digits>-<creation time, base 36>.rec` (checksummed) or `.seg` (the previous release's). */
export const SEGMENT_NAME = /^(\d{12})-([0-9a-z]+)\.(rec|seg)$/;

export function segmentName(firstSeq: number, createdAt: number): string {
  return `${String(firstSeq).padStart(12, '0')}-${Math.max(0, Math.round(createdAt)).toString(36)}.rec`;
}

export function encodeRecord(record: OutboxRecord): string {
  const body = `${record.seq}\t${record.capturedAt}\t${record.topic}\t${record.payload}`;
  return `${body}\t${crc32(body).toString(16).padStart(8, '0')}\n`;
}

/** The length in bytes of encodeRecord(record), without building it (a connected day never encodes one). */
export function recordBytes(record: OutboxRecord, payloadBytes: number): number {
  return (
    String(record.seq).length + String(record.capturedAt).length + Buffer.byteLength(record.topic) + payloadBytes + 13
  );
}

/** Every record of one segment's content, and where the bad ones start. */
export function parseSegment(file: string, text: Buffer): { records: OutboxRecord[]; bad: BadRecord[] } {
  const legacy = file.endsWith('.seg');
  const records: OutboxRecord[] = [];
  const bad: BadRecord[] = [];
  let offset = 0;
  while (offset < text.length) {
    const end = text.indexOf(0x0a, offset);
    const cut = end < 0;
    const line = text.toString('utf8', offset, cut ? text.length : end);
    if (cut) {
      bad.push({ file, offset, cut: true });
    } else {
      const found = legacy ? parseLegacy(line) : parseLine(line);
      if (found) records.push(found);
      else {
        bad.push({ file, offset, cut: false });
        if (!legacy) records.push(...intactInside(line));
      }
    }
    offset = cut ? text.length : end + 1;
  }
  return { records, bad };
}

/** A checksummed record line (without its newline), or null when any check fails. */
function parseLine(line: string): OutboxRecord | null {
  const tab = line.length - 9;
  if (tab < 0 || line.charCodeAt(tab) !== 9 || !/^[0-9a-f]{8}$/.test(line.slice(tab + 1))) return null;
  const body = line.slice(0, tab);
  if (crc32(body) !== Number.parseInt(line.slice(tab + 1), 16)) return null;
  return parseFields(body);
}

function parseLegacy(line: string): OutboxRecord | null {
  return parseFields(line);
}

function parseFields(body: string): OutboxRecord | null {
  const a = body.indexOf('\t');
  const b = body.indexOf('\t', a + 1);
  const c = body.indexOf('\t', b + 1);
  if (a <= 0 || b <= a || c <= b) return null;
  const seqText = body.slice(0, a);
  const capturedText = body.slice(a + 1, b);
  if (!/^\d+$/.test(seqText) || !/^\d+$/.test(capturedText)) return null;
  const seq = Number(seqText);
  const capturedAt = Number(capturedText);
  const payload = body.slice(c + 1);
  if (!Number.isSafeInteger(seq) || !Number.isSafeInteger(capturedAt) || !isJsonObject(payload)) return null;
  return { seq, capturedAt, topic: body.slice(b + 1, c), payload };
}

function isJsonObject(text: string): boolean {
  if (!text.startsWith('{') || !text.endsWith('}')) return false;
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/**
 * The intact records in a line that failed: a newline turned into another byte glues a record to the next one. A
 * record ends where `\t` + 8 hex digits end, and starts after a non-digit with a digit.
 */
function intactInside(line: string): OutboxRecord[] {
  const found: OutboxRecord[] = [];
  let start = 0;
  for (let end = start + 10; end < line.length; end++) {
    // A record that ends inside the line, followed by the byte that replaced its newline.
    if (line.charCodeAt(end - 9) !== 9) continue;
    const record = parseLine(line.slice(start, end));
    if (record) {
      found.push(record);
      start = end + 1;
      end = start + 9;
    }
  }
  if (start > 0) {
    const rest = parseLine(line.slice(start));
    if (rest) return [...found, rest];
  }
  // The rest: the damaged record, possibly followed by an intact one glued to it.
  for (let i = start + 1; i < line.length; i++) {
    const c = line.charCodeAt(i);
    const before = line.charCodeAt(i - 1);
    if (c < 48 || c > 57 || (before >= 48 && before <= 57)) continue;
    const record = parseLine(line.slice(i));
    if (record) {
      found.push(record);
      break;
    }
  }
  return found;
}
