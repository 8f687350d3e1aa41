#!/usr/bin/env node
// The installed `paved` command: the compiled CLI does the work.
import { main } from '../dist/main.js';

process.exitCode = await main(process.argv.slice(2));
