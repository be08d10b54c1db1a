import { TUS_BODY_TYPE } from '@cloudstore/shared';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { RequestDeadlines } from '../http/request-deadlines.js';
import type { UploadSlots } from '../services/upload-slots.js';

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * onRequest hook, after `authenticate`, of a route that takes uploads: for a multipart or
     * raw body, one of the caller's upload slots (429 before the body is read when none is
     * left), and the body idle deadline instead of the whole-request one.
     */
    uploadSlot(request: FastifyRequest, reply: FastifyReply): Promise<void>;
  }
}

interface UploadLimitsOptions {
  slots: UploadSlots;
  deadlines: RequestDeadlines;
}

function isUploadBody(request: FastifyRequest): boolean {
  const type = (request.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  return type === 'application/octet-stream' || type === TUS_BODY_TYPE || type.startsWith('multipart/');
}

export const uploadLimitsPlugin = fp(async (app: FastifyInstance, { slots, deadlines }: UploadLimitsOptions) => {
  app.decorate('uploadSlot', async (request: FastifyRequest, reply: FastifyReply) => {
    if (!isUploadBody(request)) return;
    const release = await slots.take(request.session.userId);
    // 'close' comes once the response is sent or the connection is gone, whichever is first.
    reply.raw.once('close', release);
    // Gone while the slot was being taken: no 'close' is coming any more.
    if (request.raw.socket.destroyed) release();
    deadlines.watchUpload(request.raw);
  });
});
