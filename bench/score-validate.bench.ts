/**
 * Score validation against a bare `yaml` parse of the same texts: what the AST, the schema and the
 * rules cost on top of reading the YAML at all.
 */
import { parse } from 'yaml';
import { validateScore } from '../packages/core/src/score/index.js';
import { measure, round } from './report.js';
import type { Benchmark, BenchReport } from './report.js';

const FILES = 1_000;

/** A realistic workload: an app, a worker and a migration job, resources, probes and files. */
function scoreFile(index: number): string {
  const name = `svc-${index}`;
  return `apiVersion: score.dev/v1b1
metadata:
  name: ${name}
  annotations:
    example.com/team: team-${index % 17}
  tier: standard
service:
  ports:
    http:
      port: 80
      targetPort: 8080
    metrics:
      port: 9090
containers:
  app:
    image: .
    command: ["node"]
    args: ["dist/server.js", "--port", "8080"]
    variables:
      SERVICE: \${metadata.name}
      TEAM: \${metadata.annotations.example\\.com/team}
      DATABASE_URL: postgres://\${resources.db.username}:\${resources.db.password}@\${resources.db.host}:\${resources.db.port}/\${resources.db.name}
      REDIS_HOST: \${resources.cache.host}
      REDIS_PORT: \${resources.cache.port}
      PUBLIC_URL: https://\${resources.dns.host}
      PRICE_FORMAT: $$0.00
    files:
      /etc/app/config.yaml:
        mode: "0644"
        content: |
          service: \${metadata.name}
          cache: \${resources.cache.host}:\${resources.cache.port}
      /etc/app/banner.txt:
        source: banner.txt
    volumes:
      /var/cache/app:
        source: \${resources.scratch}
    resources:
      requests:
        cpu: 250m
        memory: 128Mi
      limits:
        cpu: "1"
        memory: 512Mi
    livenessProbe:
      httpGet:
        path: /livez
        port: 8080
    readinessProbe:
      httpGet:
        path: /readyz
        port: 8080
        httpHeaders:
          - name: X-Probe
            value: ready
    before:
      migrate:
        ready: complete
  worker:
    image: ghcr.io/example/worker:${index}
    variables:
      QUEUE: \${resources.queue.host}
    readinessProbe:
      exec:
        command: ["/bin/check", "--quick"]
  migrate:
    image: .
    command: ["node", "dist/migrate.js"]
    variables:
      DATABASE_URL: \${resources.db.uri}
resources:
  db:
    type: postgres
    class: default
  cache:
    type: redis
  queue:
    type: amqp
    id: shared-queue
  scratch:
    type: volume
  dns:
    type: dns
  route:
    type: route
    params:
      host: \${resources.dns.host}
      path: /
      port: http
`;
}

export const benchmark: Benchmark = {
  name: 'score-validate',
  async run(): Promise<BenchReport> {
    const texts = Array.from({ length: FILES }, (_, index) => scoreFile(index));
    // Warm both paths up so the JIT does not bill its work to whichever runs first.
    for (const text of texts.slice(0, 50)) {
      parse(text);
      validateScore(text);
    }
    const bare = await measure(() => texts.map((text) => parse(text) as unknown));
    const paved = await measure(() =>
      texts.map((text, index) => validateScore(text, { file: `score-${index}.yaml` })),
    );
    const invalid = paved.result.filter((result) => result.workload === undefined).length;
    if (invalid > 0) throw new Error(`the generated files should all be valid; ${invalid} are not`);
    const row = (what: string, run: { ms: number; peakRssMb: number; heapDeltaMb: number }) => ({
      what,
      files: FILES,
      'total ms': round(run.ms, 1),
      'per file ms': round(run.ms / FILES, 3),
      'peak RSS MB': round(run.peakRssMb, 1),
      'heap delta MB': round(run.heapDeltaMb, 1),
    });
    return {
      title: 'Score validation (score-validate)',
      method: `${FILES} generated Score files (3 containers, 7 resources, probes, files, placeholders), each about ${Math.round(texts[0]!.length / 100) / 10} kB, validated with validateScore in one process, after a warm-up, against a bare yaml parse() of the same texts.`,
      rows: [row('yaml parse (baseline)', bare), row('validateScore', paved)],
      notes: [`validateScore / yaml parse: ${round(paved.ms / bare.ms, 2)}×`],
    };
  },
};
