/**
 * Headless Chromium for the dashboard tests, driven by playwright-core. The browser is Debian's
 * `chromium` package (Playwright's own browser downloads are not reachable from CI): when it is
 * missing and we are root with apt-get, it is installed here, as .ci/run installs Java.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

export function chromiumPath(): string {
  const configured = process.env.SERVAL_CHROMIUM;
  if (configured) {
    if (!existsSync(configured)) throw new Error(`SERVAL_CHROMIUM=${configured} does not exist`);
    return configured;
  }
  const found = CANDIDATES.find((p) => existsSync(p));
  if (found) return found;
  const root = process.getuid?.() === 0;
  if (!root || !existsSync('/usr/bin/apt-get')) {
    throw new Error(
      'The dashboard tests need Chromium: install it (Debian/Ubuntu: apt-get install chromium) or set SERVAL_CHROMIUM to a Chromium or Chrome binary.',
    );
  }
  console.log('dashboard tests: installing Debian chromium (apt-get install chromium), once per machine');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  execFileSync('apt-get', ['install', '-y', '-qq', 'chromium'], { stdio: 'inherit', env });
  const installed = CANDIDATES.find((p) => existsSync(p));
  if (!installed) throw new Error('apt-get install chromium finished but no chromium binary was found');
  return installed;
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    // Containers and CI run as root without a user namespace sandbox.
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
  });
}
