import { runService } from '@gatehouse/kit/service';
import { buildApp } from './app.ts';
import { loadConfig } from './config.ts';

await runService({
  name: 'billing',
  loadConfig,
  buildApp,
  describeConfig: (config) => ({ provider: config.provider.kind }),
});
