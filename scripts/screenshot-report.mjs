// Screenshot of the local HTML report in headless Chromium (Debian's `chromium` package), at 1400 px wide:
//   node scripts/screenshot-report.mjs [report.html] [out.png] [height]
// The flags keep Chromium off the network (the report is one static file) and out of the user's profile.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

const [html = 'local-run/report.html', out = 'local-run/report.png', height = '4000'] = process.argv.slice(2);
const browser = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].find((b) => existsSync(b));
if (!browser) {
  console.error('screenshot-report: no Chromium found (apt-get install -y chromium)');
  process.exit(2);
}
if (!existsSync(html)) {
  console.error(`screenshot-report: ${html} not found (run npm run local first)`);
  process.exit(2);
}
const profile = mkdtempSync(path.join(tmpdir(), 'report-shot-'));
try {
  execFileSync(
    browser,
    [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--hide-scrollbars',
      `--user-data-dir=${profile}`,
      `--window-size=1400,${height}`,
      `--screenshot=${path.resolve(out)}`,
      `file://${path.resolve(html)}`,
    ],
    { stdio: ['ignore', 'ignore', 'ignore'] },
  );
  console.log(`screenshot-report: ${out}`);
} finally {
  rmSync(profile, { recursive: true, force: true });
}
