#!/usr/bin/env node
import { runCli } from './bin.js';

await runCli('@x/pidfile');
