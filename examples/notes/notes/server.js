// The notes service: POST /notes stores a note in the PostgreSQL database Paved provisioned for
// it (DATABASE_URL), GET /notes lists them, GET /stats shows how often notes were asked for.
// Every /notes request is counted by the visits service, reached through a service-port resource.
import { createServer } from 'node:http';
import pg from 'pg';

const port = Number(process.env.PORT ?? 8080);
const visitsUrl = process.env.VISITS_URL;
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 5 });
// A lost connection of an idle client must not end the process; the next query gets a new one.
pool.on('error', (error) => console.error(`PostgreSQL connection lost: ${error.message}`));
let ready = false;

async function createTable() {
  await pool.query(`create table if not exists notes (
    id bigserial primary key,
    text text not null,
    created_at timestamptz not null default now()
  )`);
}

async function visits(method, path) {
  const answer = await fetch(`${visitsUrl}${path}`, { method, signal: AbortSignal.timeout(3000) });
  if (!answer.ok) throw new Error(`visits answered ${answer.status} to ${method} ${path}`);
  return answer.json();
}

function readBody(request) {
  return new Promise((done, fail) => {
    let body = '';
    request.setEncoding('utf8');
    request.on('data', (chunk) => {
      body += chunk;
      if (body.length > 64 * 1024) request.destroy(new Error('body larger than 64 KiB'));
    });
    request.on('end', () => done(body));
    request.on('error', fail);
  });
}

function send(response, status, body) {
  response.statusCode = status;
  response.setHeader('content-type', 'application/json');
  response.end(JSON.stringify(body));
}

async function handle(request, response) {
  const path = new URL(request.url ?? '/', 'http://notes').pathname;
  if (path === '/healthz') return send(response, ready ? 200 : 503, { ready });
  if (path === '/notes' && request.method === 'POST') {
    let text;
    try {
      text = JSON.parse(await readBody(request)).text;
    } catch {
      return send(response, 400, { error: 'the body must be JSON: {"text": "…"}' });
    }
    if (typeof text !== 'string' || text.length === 0 || text.length > 10_000) {
      return send(response, 400, { error: '"text" must be a string of 1 to 10000 characters' });
    }
    const { rows } = await pool.query(
      'insert into notes (text) values ($1) returning id, text, created_at as "createdAt"',
      [text],
    );
    await visits('POST', '/hits');
    return send(response, 201, rows[0]);
  }
  if (path === '/notes' && request.method === 'GET') {
    const { rows } = await pool.query('select id, text, created_at as "createdAt" from notes order by id');
    await visits('POST', '/hits');
    return send(response, 200, { notes: rows });
  }
  if (path === '/stats' && request.method === 'GET')
    return send(response, 200, await visits('GET', '/stats'));
  send(response, 404, { error: `no ${request.method} ${path}: try GET /notes, POST /notes or GET /stats` });
}

const server = createServer((request, response) => {
  handle(request, response).catch((error) => {
    console.error(`${request.method} ${request.url} failed: ${error.message}`);
    if (!response.headersSent) send(response, 500, { error: error.message });
  });
});

createTable().then(
  () => {
    ready = true;
    server.listen(port, () => console.log(`notes listening on ${port}`));
  },
  (error) => {
    // Exit, so the target restarts the service and the deployment's events show why.
    console.error(`cannot create the notes table: ${error.message}`);
    process.exit(1);
  },
);

process.on('SIGTERM', () => {
  server.close();
  pool.end().finally(() => process.exit(0));
});
