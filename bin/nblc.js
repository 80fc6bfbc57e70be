#!/usr/bin/env node
// Runs the TypeScript CLI through tsx (a runtime dependency), so there is no build step.
import { register } from 'tsx/esm/api';

register();
await import('../src/runtime/main.ts');
