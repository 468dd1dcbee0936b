#!/usr/bin/env node
// npm links only the bins of direct dependencies: this one runs @x/daemon's.
import { runCli } from '../dist/bin.js';

await runCli('@x/daemon', 'x-daemon');
