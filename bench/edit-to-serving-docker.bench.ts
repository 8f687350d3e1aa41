/**
 * Edit-to-serving on the docker target: with examples/shop deployed on a container engine through
 * Paved, change the text the frontend returns, deploy that one workload again, and time until the
 * gateway answers with the new text. That takes a new build context, an image build, a new
 * instance beside the old one, its readiness probe, and the switch of the forwarder.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Benchmark, BenchReport } from './report.js';
import { round } from './report.js';
import {
  copyShop,
  createShopEnv,
  deployShop,
  engineHost,
  shopAnswered,
  startShopServer,
  waitThroughGateway,
} from './shop-compose.bench.js';

const ORIGINAL = 'Welcome to the shop';
const EDITS = 3;

async function runBenchmark(): Promise<BenchReport> {
  const host = engineHost();
  const shop = await startShopServer(host);
  const dir = copyShop('paved-bench-edit-');
  const app = `edit-${randomBytes(3).toString('hex')}`;
  const env = 'dev';
  const rows: Record<string, string | number>[] = [];
  try {
    await shop.client.createApp({ name: app });
    await createShopEnv(shop.client, app, env);
    const first = await deployShop(shop.client, app, env, dir);
    await waitThroughGateway(shop, app, env, first, shopAnswered);

    const serverJs = join(dir, 'frontend', 'server.js');
    const source = readFileSync(serverJs, 'utf8');
    if (!source.includes(`'${ORIGINAL}'`))
      throw new Error(`${serverJs} no longer contains '${ORIGINAL}'; update the edit benchmark`);
    for (let edit = 1; edit <= EDITS; edit += 1) {
      const text = `Welcome to the shop, edit ${edit}`;
      const start = performance.now();
      writeFileSync(serverJs, source.replace(`'${ORIGINAL}'`, `'${text}'`));
      const number = await deployShop(shop.client, app, env, dir, ['frontend']);
      await waitThroughGateway(
        shop,
        app,
        env,
        number,
        (answer) => answer?.greeting === text && shopAnswered(answer),
      );
      rows.push({ edit, 'edit to serving, ms': round(performance.now() - start, 0) });
    }
  } finally {
    await shop.client
      .deleteEnv(app, env, { deleteData: true })
      .catch((error: unknown) => console.error(error));
    await shop.client.deleteApp(app).catch((error: unknown) => console.error(error));
    await shop.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return {
    title: 'Edit-to-serving on the docker target (edit-to-serving-docker)',
    method: `examples/shop deployed through an in-process server's built-in docker target (${host}). Each edit changes the greeting string in frontend/server.js, packs and uploads the frontend's context, deploys the frontend workload alone, and polls the gateway until the frontend answers with the new greeting (and both backends' data); timed from the file write. ${EDITS} edits in a row.`,
    rows,
    notes: ['Target: under 30 s (issue 4).'],
  };
}

export const benchmark: Benchmark = { name: 'edit-to-serving-docker', run: runBenchmark };
