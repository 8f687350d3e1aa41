// The orders service: reports open orders in the currency set with `paved values set`.
import { createServer } from 'node:http';

const port = Number(process.env.PORT ?? 8080);
const currency = process.env.CURRENCY ?? 'EUR';

createServer((request, response) => {
  if (request.url === '/healthz') return void response.end('ok');
  if (request.url === '/orders') {
    response.setHeader('content-type', 'application/json');
    return void response.end(JSON.stringify({ service: 'orders', currency, open: 3 }));
  }
  response.statusCode = 404;
  response.end('not found');
}).listen(port, () => console.log(`orders listening on ${port} (currency ${currency})`));

process.on('SIGTERM', () => process.exit(0));
