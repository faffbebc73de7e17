import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'vite';

/**
 * `node src/vite-build.ts <outDir> <stamp>`: builds the app with Vite into
 * outDir and writes the source stamp there. Run by build.ts in a child
 * process; `npm run build -w packages/web` runs it through build-cli.ts.
 */
const [outDir, stamp] = process.argv.slice(2);
if (outDir === undefined || stamp === undefined) {
  process.stderr.write('usage: node src/vite-build.ts <outDir> <stamp>\n');
  process.exit(2);
}

const appDir = join(import.meta.dirname, '..', 'app');
await build({
  root: appDir,
  configFile: false,
  mode: 'production',
  logLevel: 'warn',
  // Relative to nothing: the app is always served from the origin's root.
  base: '/',
  build: {
    outDir,
    emptyOutDir: true,
    // Hashed names under assets/: the server gives them a year's cache lifetime.
    assetsDir: 'assets',
    sourcemap: false,
    // Never inline assets as data: URLs (the CSP allows images and fonts from 'self' only).
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    reportCompressedSize: false,
  },
});
writeFileSync(join(outDir, '.source-stamp'), `${stamp}\n`);
