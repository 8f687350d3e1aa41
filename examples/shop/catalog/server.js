// The catalog service: lists products. Plain Node, no dependencies, so it runs as a local process
// and in a container alike.
import { createServer } from 'node:http';

const port = Number(process.env.PORT ?? 8080);
const products = [
  { sku: 'mug-01', name: 'Paved mug', priceCents: 1200 },
  { sku: 'tee-02', name: 'Paved T-shirt', priceCents: 2500 },
];

createServer((request, response) => {
  if (request.url === '/healthz') return void response.end('ok');
  if (request.url === '/products') {
    response.setHeader('content-type', 'application/json');
    return void response.end(JSON.stringify({ service: 'catalog', products }));
  }
  response.statusCode = 404;
  response.end('not found');
}).listen(port, () => console.log(`catalog listening on ${port}`));

process.on('SIGTERM', () => process.exit(0));
