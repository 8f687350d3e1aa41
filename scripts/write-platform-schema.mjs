#!/usr/bin/env node
// `npm run schema`: writes the JSON schema of paved.dev/v1 documents, generated from the zod
// schemas the server validates `paved apply` with, to docs/schema/paved-v1.schema.json. A unit
// test (packages/server/src/platform/platform-schema.test.ts) fails when the committed file is
// out of date. Reads the built server, so `npm run schema` builds first.
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { PLATFORM_SCHEMA_FILE, platformJsonSchema } from '@paved/server';
import { format, resolveConfig } from 'prettier';

const root = fileURLToPath(new URL('..', import.meta.url));
const file = `${root}${PLATFORM_SCHEMA_FILE}`;
// Formatted as `npm run lint` (prettier --check) expects, so writing it never fails the lint.
const options = (await resolveConfig(file)) ?? {};
const text = await format(JSON.stringify(platformJsonSchema()), { ...options, filepath: file });
await writeFile(file, text);
console.log(`Wrote ${PLATFORM_SCHEMA_FILE}`);
