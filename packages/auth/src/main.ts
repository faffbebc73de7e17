import { runService } from '@gatehouse/kit/service';
import { buildApp } from './app.ts';
import { loadConfig } from './config.ts';

await runService({
  name: 'auth',
  loadConfig,
  buildApp,
  describeConfig: (config) => ({
    signingKeys:
      config.signingKeys === undefined ? 'development key directory' : `${config.signingKeys.length} key(s)`,
  }),
});
