#!/usr/bin/env node
// The `devhost` command: runs the compiled CLI (npm run build produces it).
require('../dist/bin/devhost.js');
