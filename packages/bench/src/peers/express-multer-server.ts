import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { unlink } from 'node:fs/promises';
import path from 'node:path';
import express from 'express';
import multer, { type StorageEngine } from 'multer';

/**
 * Peer: Express + multer, the way most Node tutorials accept an upload. MULTER_HASH=1 adds
 * what a careful user of it would write to learn the SHA-256: a storage engine that hashes
 * the part while piping it to disk. Neither fsyncs (multer's disk storage never does).
 * Run as its own process with STORE_DIR.
 */

const storeDirectory = process.env.STORE_DIR ?? process.cwd();
const isHashing = process.env.MULTER_HASH === '1';
/** The digest of each request's file, for the reply: multer's file record has no field for it. */
const digests = new WeakMap<express.Request, string>();

const hashingStorage: StorageEngine = {
  _handleFile(request, file, callback) {
    const destination = path.join(storeDirectory, file.originalname);
    const hash = createHash('sha256');
    let size = 0;
    const output = createWriteStream(destination);
    file.stream.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      size += chunk.length;
    });
    file.stream.pipe(output);
    output.on('error', callback);
    output.on('finish', () => {
      digests.set(request, hash.digest('hex'));
      callback(null, { path: destination, size, filename: file.originalname });
    });
  },
  _removeFile(_request, file, callback) {
    unlink(file.path).then(() => callback(null), callback);
  },
};

const upload = multer({
  storage: isHashing
    ? hashingStorage
    : multer.diskStorage({ destination: storeDirectory, filename: (_request, file, callback) => callback(null, file.originalname) }),
});

const app = express();
app.post('/files', upload.single('file'), (request, response) => {
  const file = request.file!;
  response.status(201).json({ filename: file.originalname, size: file.size, sha256: digests.get(request) ?? null });
});
app.get('/files/:name', (request, response) => {
  response.sendFile(path.join(storeDirectory, request.params.name));
});
app.delete('/files/:name', (request, response) => {
  unlink(path.join(storeDirectory, request.params.name)).then(
    () => response.json({ deleted: true }),
    () => response.status(404).json({ error: 'not found' }),
  );
});

const server = app.listen(0, '127.0.0.1', () => {
  const address = server.address();
  if (address && typeof address === 'object') process.stdout.write(`Server listening at http://127.0.0.1:${address.port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
