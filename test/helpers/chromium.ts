/**
 * Debian's headless Chromium driven through playwright-core (the driver only: no browser download), so a test can wait
 * for what a page shows instead of sleeping. Flags keep it offline and quiet.
 */
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = process.env.AVSCENE_CHROMIUM ?? '/usr/bin/chromium';

export async function launchChromium(): Promise<Browser> {
  try {
    return await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--no-sandbox', // root in CI
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
      // No --user-data-dir: playwright gives every launch a fresh, temporary profile.
    });
  } catch (err) {
    throw new Error(
      `cannot start ${CHROMIUM} (apt-get install chromium; make test does it): ${(err as Error).message}`,
    );
  }
}
