#!/usr/bin/env node
// Committed, so that installing links this bin before the package is built; the CLI itself is built.
import '../dist/cli.js';
