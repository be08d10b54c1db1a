import type { FastifyInstance } from 'fastify';
import { VERSION } from '../version.js';

const PAGE = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>CloudStore ${VERSION}</title></head>
<body>
<h1>CloudStore ${VERSION}</h1>
<p>Self-hosted, content-addressed file sharing. Use it with the <code>cloudstore</code> command line or the HTTP API.</p>
<ul>
<li><a href="/docs">/docs</a>: the API, browsable (OpenAPI document at <a href="/docs/json">/docs/json</a>)</li>
<li><a href="/health">/health</a>: whether the database and the storage answer</li>
</ul>
</body>
</html>
`;

/** GET /: a page that names the service and its version and points at the docs and the health check. */
export async function homeRoutes(app: FastifyInstance) {
  app.get(
    '/',
    {
      schema: {
        tags: ['operations'],
        summary: 'Service page',
        description: 'A small HTML page naming the service and its version, with links to /docs and /health.',
        response: { 200: { description: 'The page', content: { 'text/html': { schema: { type: 'string' } } } } },
      },
    },
    async (_request, reply) => reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(PAGE),
  );
}
