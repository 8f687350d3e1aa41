// The shop's front page: asks the catalog and orders services (reached through the addresses
// Paved wires in from service-port resources) and shows both answers.
import { createServer } from 'node:http';

const port = Number(process.env.PORT ?? 8080);
const catalogUrl = process.env.CATALOG_URL;
const ordersUrl = process.env.ORDERS_URL;

async function ask(url) {
  try {
    const answer = await fetch(url, { signal: AbortSignal.timeout(3000) });
    return await answer.json();
  } catch (error) {
    return { error: `${url}: ${error.message}` };
  }
}

createServer(async (request, response) => {
  if (request.url === '/healthz') return void response.end('ok');
  const [catalog, orders] = await Promise.all([ask(`${catalogUrl}/products`), ask(`${ordersUrl}/orders`)]);
  const body = {
    service: 'frontend',
    greeting: process.env.GREETING ?? 'Welcome to the shop',
    catalog,
    orders,
  };
  if ((request.headers.accept ?? '').includes('text/html')) {
    response.setHeader('content-type', 'text/html; charset=utf-8');
    return void response.end(
      `<!doctype html><title>Shop</title><h1>${body.greeting}</h1><pre>${JSON.stringify(body, null, 2)}</pre>`,
    );
  }
  response.setHeader('content-type', 'application/json');
  response.end(JSON.stringify(body));
}).listen(port, () => console.log(`frontend listening on ${port}`));

process.on('SIGTERM', () => process.exit(0));
