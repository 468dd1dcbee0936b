#!/usr/bin/env node
// npm links only the bins of direct dependencies: this one runs @x/pidfile's.
import { runCli } from '../dist/bin.js';

await runCli('@x/pidfile', 'x-pidfile');
