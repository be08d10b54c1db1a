export * from './errors.js';
export * from './limits.js';
export * from './repr-digest.js';
export * from './routes.js';
export * from './schemas/common.js';
export * from './schemas/auth.js';
export * from './schemas/files.js';
export * from './schemas/sharing.js';
