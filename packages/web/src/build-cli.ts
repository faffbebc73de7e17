import { ensureBuilt } from './build.ts';

/** `npm run build -w packages/web`: builds the app into dist/ unless it is fresh. */
const built = await ensureBuilt({ log: (m) => process.stdout.write(`${m}\n`) });
process.stdout.write(built ? 'web: built dist/\n' : 'web: dist/ is fresh\n');
