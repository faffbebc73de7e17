import { runService } from '@gatehouse/kit/service';
import { buildApp } from './app.ts';
import { loadConfig } from './config.ts';

await runService({ name: 'chat', loadConfig, buildApp });
