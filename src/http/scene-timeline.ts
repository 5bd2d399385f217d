/**
 * The last hour of labels as bands (one per run of equal labels), for the status page's timeline. Consecutive
 * windows with the same label extend one band, so an hour of a quiet office is one entry, not 3600.
 */
export interface Band {
  label: string;
  /** Epoch milliseconds: start of the first window, end of the last. */
  from: number;
  to: number;
}

/** Windows further apart than this (a stall, a restart of capture) start a new band even with the same label. */
const GAP_MS = 2500;

export class SceneTimeline {
  private readonly bands: Band[] = [];

  constructor(private readonly spanMs = 3600_000) {}

  add(label: string, from: number, to: number): void {
    const last = this.bands[this.bands.length - 1];
    if (last && last.label === label && from - last.to <= GAP_MS) last.to = Math.max(last.to, to);
    else this.bands.push({ label, from, to });
    const horizon = to - this.spanMs;
    while (this.bands.length > 0 && this.bands[0]!.to < horizon) this.bands.shift();
  }

  /** Bands overlapping the last hour before `now` (the first one clipped to it). */
  recent(now: number): Band[] {
    const horizon = now - this.spanMs;
    return this.bands.filter((b) => b.to >= horizon).map((b) => ({ ...b, from: Math.max(b.from, horizon) }));
  }
}
